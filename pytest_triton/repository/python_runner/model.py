"""Triton python-backend model that serves any exported artifact with the runners of pytest_triton.export.

Used where the server has no native backend for the artifact (the bundled server has only python).
It batches what the dynamic batcher hands it: requests with equal shapes are concatenated and run once.
It runs inside Triton's python stub, in the environment of the pytest process that deployed it.
"""

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {key: value["string_value"] for key, value in config.get("parameters", {}).items()}
        from pytest_triton.export.formats import load_runner
        from pytest_triton.export.runners import cpu_threads_per_instance

        gpu = args["model_instance_kind"] == "GPU"
        device = f"cuda:{args['model_instance_device_id']}" if gpu else "cpu"
        artifact = Path(args["model_repository"]) / args["model_version"] / params["artifact"]
        cpu_instances = sum(g.get("count", 1) for g in config.get("instance_group", []) if g.get("kind") == "KIND_CPU")
        threads = None if gpu else cpu_threads_per_instance(cpu_instances)
        self._runner = load_runner(params["format"], artifact, device, threads)
        self._inputs = [(i["name"], pb_utils.triton_string_to_numpy(i["data_type"])) for i in config["input"]]
        self._outputs = [(o["name"], pb_utils.triton_string_to_numpy(o["data_type"])) for o in config["output"]]
        # Without batching the first axis is the model's own, not rows: each request runs alone, outputs whole.
        self._batches = config.get("max_batch_size", 0) > 0
        # Runs this share of batches a second time: a known slowdown of a real model, to show that a perf gate
        # catches one (benchmarks/regression_detection.py). Never set by the deployments of a run.
        self._repeat = float(params.get("repeat_fraction", "0"))
        self._owed = 0.0

    def execute(self, requests):
        arrays = [[pb_utils.get_input_tensor_by_name(r, name).as_numpy() for name, _ in self._inputs] for r in requests]
        responses = [None] * len(requests)
        groups = {}
        for index, tensors in enumerate(arrays):
            key = tuple(t.shape[1:] for t in tensors) if self._batches else index
            groups.setdefault(key, []).append(index)
        for members in groups.values():
            try:
                batch = [np.concatenate([arrays[i][k] for i in members]) for k in range(len(self._inputs))]
                outputs = self._runner.run(batch)
                self._owed += self._repeat
                while self._owed >= 1.0:
                    self._runner.run(batch)
                    self._owed -= 1.0
                offset = 0
                for i in members:
                    size = arrays[i][0].shape[0] if self._batches else None
                    tensors = [
                        pb_utils.Tensor(
                            name,
                            np.array(out if size is None else out[offset : offset + size], dtype=dtype, copy=True),
                        )
                        for (name, dtype), out in zip(self._outputs, outputs)
                    ]
                    responses[i] = pb_utils.InferenceResponse(output_tensors=tensors)
                    offset += size or 0
            except Exception as error:  # report to the client instead of killing the stub
                for i in members:
                    responses[i] = pb_utils.InferenceResponse(
                        error=pb_utils.TritonError(f"{type(error).__name__}: {error}")
                    )
        return responses
