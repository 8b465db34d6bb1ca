"""Decoupled example in the spirit of python_backend's "square" model.

For a request with IN = n the model sends n responses, each holding OUT = n,
and then closes the stream with an empty response flagged
TRITONSERVER_RESPONSE_COMPLETE_FINAL. IN = 0 yields no data response at all,
only the final flag.

To keep arbitrary (e.g. generated) inputs cheap, n is clamped to [0, 16]:
negative values behave like 0 and values above 16 produce 16 responses with
OUT = 16. For 0 <= IN <= 16, OUT always equals IN.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils

MAX_RESPONSES = 16


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        if not pb_utils.using_decoupled_model_transaction_policy(model_config):
            raise pb_utils.TritonModelException(
                "model '{}' must use the decoupled transaction policy".format(args["model_name"])
            )

    @staticmethod
    def _response_count(in_array):
        flat = np.asarray(in_array).reshape(-1)
        if flat.size == 0:
            return 0
        return int(min(max(int(flat[0]), 0), MAX_RESPONSES))

    def execute(self, requests):
        for request in requests:
            sender = request.get_response_sender()
            try:
                in_tensor = pb_utils.get_input_tensor_by_name(request, "IN")
                count = self._response_count(in_tensor.as_numpy())
                for _ in range(count):
                    if sender.is_cancelled():
                        break
                    out = pb_utils.Tensor("OUT", np.array([count], dtype=np.int32))
                    sender.send(pb_utils.InferenceResponse(output_tensors=[out]))
            except Exception as e:  # report, then still close the stream
                sender.send(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(str(e))))
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        # Decoupled models return None; all responses went through senders.
        return None

    def finalize(self):
        pass
