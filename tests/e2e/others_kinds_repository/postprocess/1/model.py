"""Post-processing step of the `pipeline` example.

Computes a numerically stable softmax over the last axis of LOGITS, one row
per batch entry. The output has the same shape as the input; an empty row
stays empty. Non-finite inputs propagate as NaN, without raising.
"""

import numpy as np
import triton_python_backend_utils as pb_utils


def _softmax(x):
    if x.size == 0:
        return np.zeros(x.shape, dtype=np.float32)
    with np.errstate(all="ignore"):
        shifted = x - np.max(x, axis=-1, keepdims=True)
        exp = np.exp(shifted)
        probs = exp / np.sum(exp, axis=-1, keepdims=True)
    return probs.astype(np.float32)


class TritonPythonModel:
    def initialize(self, args):
        self.input_name = "LOGITS"
        self.output_name = "PROBABILITIES"

    def execute(self, requests):
        responses = []
        for request in requests:
            logits = pb_utils.get_input_tensor_by_name(request, self.input_name)
            probs = _softmax(logits.as_numpy().astype(np.float32))
            out = pb_utils.Tensor(self.output_name, np.ascontiguousarray(probs))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def finalize(self):
        pass
