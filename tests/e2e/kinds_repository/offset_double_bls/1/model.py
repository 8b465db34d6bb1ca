"""Business logic scripting: calls offset, then double, through the server."""

import triton_python_backend_utils as pb_utils


def _call(model, tensor):
    request = pb_utils.InferenceRequest(model_name=model, requested_output_names=["Y"], inputs=[tensor])
    response = request.exec()
    if response.has_error():
        raise pb_utils.TritonModelException(response.error().message())
    return pb_utils.Tensor("X", pb_utils.get_output_tensor_by_name(response, "Y").as_numpy())


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.Tensor("X", pb_utils.get_input_tensor_by_name(request, "INPUT").as_numpy())
            y = _call("double", _call("offset", x)).as_numpy()
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("OUTPUT", y)]))
        return responses
