"""The running sum of X over each sequence, kept per correlation ID (the CORRID control input). READY is 0 for the
null requests the direct strategy sends for a batch's idle slots: they are answered with zeros and change nothing."""

import numpy as np
import triton_python_backend_utils as pb_utils


def _scalar(request, name):
    return int(pb_utils.get_input_tensor_by_name(request, name).as_numpy().reshape(-1)[0])


class TritonPythonModel:
    def initialize(self, args):
        self.sums = {}

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            key = _scalar(request, "CORRID")
            if not _scalar(request, "READY"):
                total = np.zeros_like(x)
            else:
                if _scalar(request, "START"):
                    self.sums[key] = np.zeros_like(x)
                total = self.sums[key] = self.sums[key] + x
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("SUM", total)]))
        return responses
