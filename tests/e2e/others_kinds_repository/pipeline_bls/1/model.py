"""BLS version of the `pipeline` ensemble.

For every incoming request this model issues two synchronous BLS calls:
`preprocess` (RAW_BYTES -> NORMALIZED) and then `postprocess`
(LOGITS -> PROBABILITIES). Errors returned by either step are forwarded to
the client as an error response for that request only.
"""

import numpy as np
import triton_python_backend_utils as pb_utils


class _StepError(Exception):
    pass


class TritonPythonModel:
    def initialize(self, args):
        self.input_name = "BLS_INPUT"
        self.output_name = "BLS_OUTPUT"

    def _call(self, model_name, input_name, array, output_name):
        bls_request = pb_utils.InferenceRequest(
            model_name=model_name,
            inputs=[pb_utils.Tensor(input_name, array)],
            requested_output_names=[output_name],
        )
        bls_response = bls_request.exec()
        if bls_response.has_error():
            raise _StepError("{} failed: {}".format(model_name, bls_response.error().message()))
        tensor = pb_utils.get_output_tensor_by_name(bls_response, output_name)
        if tensor is None:
            raise _StepError("{} returned no '{}' output".format(model_name, output_name))
        # Copy so the array does not depend on the lifetime of the response.
        return np.array(tensor.as_numpy(), copy=True)

    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, self.input_name)
            raw_array = np.ascontiguousarray(raw.as_numpy(), dtype=np.uint8)
            try:
                normalized = self._call("preprocess", "RAW_BYTES", raw_array, "NORMALIZED")
                probs = self._call(
                    "postprocess",
                    "LOGITS",
                    np.ascontiguousarray(normalized, dtype=np.float32),
                    "PROBABILITIES",
                )
            except _StepError as e:
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(str(e))))
                continue
            out = pb_utils.Tensor(self.output_name, np.ascontiguousarray(probs, dtype=np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def finalize(self):
        pass
