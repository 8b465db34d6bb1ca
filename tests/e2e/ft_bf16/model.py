"""A stand-in for FasterTransformer's BERT backend at data_type bf16, for a server without a GPU: BF16 hidden states
and INT32 lengths in, BF16 out, the encoder of the checkpoint its `model_checkpoint_path` parameter names computed
in bfloat16. numpy has no bfloat16, so BF16 tensors pass by DLPack."""

import json
from pathlib import Path

import torch
import triton_python_backend_utils as pb_utils
from torch.utils.dlpack import from_dlpack, to_dlpack

from pytest_triton.models.ft_encoder import ft_encoder_spec


class TritonPythonModel:
    def initialize(self, args):
        parameters = json.loads(args["model_config"])["parameters"]
        checkpoint = Path(parameters["model_checkpoint_path"]["string_value"])
        self.encoder = ft_encoder_spec(None, checkpoint).build().to(torch.bfloat16)

    def execute(self, requests):
        responses = []
        for request in requests:
            hidden = from_dlpack(pb_utils.get_input_tensor_by_name(request, "input_hidden_state").to_dlpack())
            lengths = torch.from_numpy(pb_utils.get_input_tensor_by_name(request, "sequence_lengths").as_numpy())
            with torch.no_grad():
                out = self.encoder(hidden, lengths).contiguous()
            tensor = pb_utils.Tensor.from_dlpack("output_hidden_state", to_dlpack(out))
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses
