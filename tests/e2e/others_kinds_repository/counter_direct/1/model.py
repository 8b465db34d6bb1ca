"""Running-sum counter using the sequence batcher's "direct" strategy.

State is kept per correlation ID (the CORRID control tensor):
  * START = 1 resets the sum of that sequence to 0 before adding INPUT.
  * READY = 0 marks a null request that only fills a batch slot; it is
    answered with zeros and never touches any state.
  * END = 1 answers normally and then drops the sequence's state.
The sum wraps around like 32-bit two's-complement integer addition, so the
result is always a valid INT32 and is fully deterministic.
"""

import numpy as np
import triton_python_backend_utils as pb_utils

_INT32_SPAN = 1 << 32
_INT32_MIN = -(1 << 31)


def _wrap_int32(value):
    return ((int(value) - _INT32_MIN) % _INT32_SPAN) + _INT32_MIN


def _flag(request, name):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return 0
    flat = tensor.as_numpy().reshape(-1)
    return int(flat[0]) if flat.size else 0


class TritonPythonModel:
    def initialize(self, args):
        # correlation id -> running sum (python int, already wrapped to int32)
        self.sums = {}

    def _corrid(self, request):
        tensor = pb_utils.get_input_tensor_by_name(request, "CORRID")
        if tensor is not None:
            flat = tensor.as_numpy().reshape(-1)
            if flat.size:
                return int(flat[0])
        return request.correlation_id()

    def execute(self, requests):
        responses = []
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, "INPUT").as_numpy()
            output = np.zeros(values.shape, dtype=np.int32)

            if _flag(request, "READY") != 0:
                corrid = self._corrid(request)
                if _flag(request, "START") != 0:
                    total = 0
                else:
                    total = self.sums.get(corrid, 0)

                flat_in = values.reshape(-1)
                flat_out = np.zeros(flat_in.size, dtype=np.int32)
                for i in range(flat_in.size):
                    total = _wrap_int32(total + int(flat_in[i]))
                    flat_out[i] = total
                output = flat_out.reshape(values.shape)

                if _flag(request, "END") != 0:
                    self.sums.pop(corrid, None)
                else:
                    self.sums[corrid] = total

            out = pb_utils.Tensor("OUTPUT", output)
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def finalize(self):
        self.sums.clear()
