"""Faulty on purpose: declares no READY control input, so it cannot tell the null requests the direct strategy sends
for a batch's idle slots (correlation ID 0) from real ones, and fails on them."""

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.sums = {}

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            start = pb_utils.get_input_tensor_by_name(request, "START").as_numpy()
            key = int(pb_utils.get_input_tensor_by_name(request, "CORRID").as_numpy().reshape(-1)[0])
            if int(start.reshape(-1)[0]):
                self.sums[key] = np.zeros_like(x)
            self.sums[key] = self.sums[key] + x
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("SUM", self.sums[key])]))
        return responses
