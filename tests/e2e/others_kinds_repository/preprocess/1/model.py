"""Pre-processing step of the `pipeline` example.

Maps every byte value v in [0, 255] to (v / 255 - 0.5) / 0.5, i.e. into the
range [-1.0, 1.0]. The output has exactly the shape of the input (including
the batch dimension), so an empty input row gives an empty output row.
"""

import numpy as np
import triton_python_backend_utils as pb_utils

_MEAN = np.float32(0.5)
_STD = np.float32(0.5)


class TritonPythonModel:
    def initialize(self, args):
        self.input_name = "RAW_BYTES"
        self.output_name = "NORMALIZED"

    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, self.input_name)
            values = raw.as_numpy().astype(np.float32)
            normalized = ((values / np.float32(255.0)) - _MEAN) / _STD
            out = pb_utils.Tensor(self.output_name, np.ascontiguousarray(normalized, dtype=np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def finalize(self):
        pass
