"""Per-sequence accumulator using the sequence batcher's "oldest" strategy.

TOTAL is the sum of every VALUES element received so far in the sequence
(including the current request). With the oldest strategy each request in
the batch handed to execute() is a real client request, so the correlation
ID and the START / END flags are read from the request itself:
  * SEQUENCE_START resets the sequence's total to 0 before adding VALUES.
  * SEQUENCE_END answers normally and then forgets the sequence.
An empty VALUES row leaves the total unchanged. Sums are accumulated in
float64 and reported as float32.
"""

import numpy as np
import triton_python_backend_utils as pb_utils

_START = pb_utils.TRITONSERVER_REQUEST_FLAG_SEQUENCE_START
_END = pb_utils.TRITONSERVER_REQUEST_FLAG_SEQUENCE_END


class TritonPythonModel:
    def initialize(self, args):
        # correlation id (int or str) -> running total (float)
        self.totals = {}

    def execute(self, requests):
        responses = []
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, "VALUES").as_numpy()
            flags = request.flags()
            corrid = request.correlation_id()

            total = 0.0 if (flags & _START) else self.totals.get(corrid, 0.0)

            # One output row per batch row: the running total after that row.
            if values.ndim == 0:
                values = values.reshape(1, 1)
            row_len = int(np.prod(values.shape[1:], dtype=np.int64))
            rows = values.reshape(values.shape[0], row_len)
            out_rows = np.zeros((rows.shape[0], 1), dtype=np.float32)
            with np.errstate(all="ignore"):
                for i in range(rows.shape[0]):
                    total = float(total + np.sum(rows[i], dtype=np.float64))
                    out_rows[i, 0] = np.float32(total)

            if flags & _END:
                self.totals.pop(corrid, None)
            else:
                self.totals[corrid] = total

            out = pb_utils.Tensor("TOTAL", out_rows)
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def finalize(self):
        self.totals.clear()
