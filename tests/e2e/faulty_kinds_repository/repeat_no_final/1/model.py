"""Faulty on purpose: decoupled, sends one response per element of IN and never the final flag."""

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        for request in requests:
            sender = request.get_response_sender()
            for value in pb_utils.get_input_tensor_by_name(request, "IN").as_numpy():
                sender.send(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("OUT", value.reshape(1))]))
        return None
