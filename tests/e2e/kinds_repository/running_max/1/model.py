"""The element-wise running maximum of X over each sequence, kept per request.correlation_id()."""

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.maxima = {}

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            key = request.correlation_id()
            if request.flags() & pb_utils.TRITONSERVER_REQUEST_FLAG_SEQUENCE_START or key not in self.maxima:
                self.maxima[key] = x
            self.maxima[key] = np.maximum(self.maxima[key], x)
            if request.flags() & pb_utils.TRITONSERVER_REQUEST_FLAG_SEQUENCE_END:
                result = self.maxima.pop(key)
            else:
                result = self.maxima[key]
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("MAX", result)]))
        return responses
