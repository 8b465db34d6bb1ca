"""Triton python-backend model with a known answer: returns its input, after sleeping `sleep_ms` per batch
and doing `matmuls` products of 256x256 matrices (a fixed amount of work, whose time is the machine's speed).

This file runs inside Triton's python stub (never imported by pytest_triton itself). The sleep happens
once per execute() call, i.e. once per batch the dynamic batcher forms, so at concurrency 1 and batch 1
the server can complete at most 1000 / sleep_ms requests per second, and compute_infer is about sleep_ms.
With sleep_ms 0 it is an identity model whose cost is the python backend's own overhead.
"""

import json
import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {key: value["string_value"] for key, value in config.get("parameters", {}).items()}
        self._sleep_s = float(params.get("sleep_ms", "0")) / 1000.0
        self._matmuls = int(params.get("matmuls", "0"))
        self._matrix = np.random.default_rng(0).standard_normal((256, 256), dtype=np.float32)
        self._pairs = [(i["name"], o["name"]) for i, o in zip(config["input"], config["output"])]

    def execute(self, requests):
        if self._sleep_s > 0:
            time.sleep(self._sleep_s)
        product = self._matrix
        for _ in range(self._matmuls):  # a fixed amount of arithmetic: its time is this machine's speed
            product = np.tanh(product @ self._matrix)
        responses = []
        for request in requests:
            tensors = [
                # A copy: an output that wraps the request's own shared-memory buffer comes back empty.
                pb_utils.Tensor(out_name, pb_utils.get_input_tensor_by_name(request, in_name).as_numpy())
                for in_name, out_name in self._pairs
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
