"""BF16 in, BF16 out: the input doubled. numpy has no bfloat16, so the python backend hands BF16 over by DLPack."""

import torch
import triton_python_backend_utils as pb_utils
from torch.utils.dlpack import from_dlpack, to_dlpack


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = from_dlpack(pb_utils.get_input_tensor_by_name(request, "X").to_dlpack())
            y = (x * 2).to(torch.bfloat16)
            responses.append(
                pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor.from_dlpack("Y", to_dlpack(y))])
            )
        return responses
