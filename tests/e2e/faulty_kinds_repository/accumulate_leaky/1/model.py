"""Faulty on purpose: one running sum for all sequences, reset by any sequence's START (state leaks between
correlation IDs)."""

import numpy as np
import triton_python_backend_utils as pb_utils


def _scalar(request, name):
    return int(pb_utils.get_input_tensor_by_name(request, name).as_numpy().reshape(-1)[0])


class TritonPythonModel:
    def initialize(self, args):
        self.sum = None

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            if not _scalar(request, "READY"):
                total = np.zeros_like(x)
            else:
                if _scalar(request, "START") or self.sum is None:
                    self.sum = np.zeros_like(x)
                total = self.sum = self.sum + x
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("SUM", total)]))
        return responses
