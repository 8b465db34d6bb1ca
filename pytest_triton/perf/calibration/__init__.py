"""Models whose performance is known in advance, so a measurement can be checked against the answer.

`sleep_model(10)` sleeps 10 ms per batch: at concurrency 1 and batch 1 the right answer is ~100 inf/s
with compute_infer ~10 ms. `identity_model()` does no work, which exposes the load generator's and the
python backend's own ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tritonclient.grpc import model_config_pb2 as mc

from pytest_triton.models.spec import TensorSpec
from pytest_triton.perf.workload import Workload, synthetic_workload
from pytest_triton.repository.config import build_config
from pytest_triton.repository.policy import BatchingPolicy, InstancePolicy
from pytest_triton.repository.store import ModelRepository

MODEL_SOURCE = Path(__file__).with_name("model.py")


@dataclass(frozen=True)
class CalibrationModel:
    """A python-backend model that returns its input after `sleep_ms` and `matmuls` 256x256 matrix products
    per batch (both 0: identity)."""

    name: str
    sleep_ms: float = 0.0
    matmuls: int = 0
    max_batch_size: int = 8
    batching: BatchingPolicy = BatchingPolicy(enabled=False)
    instances: int = 1
    elements: int = 16

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        return (TensorSpec("INPUT0", "float32", (self.elements,)),)

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        return (TensorSpec("OUTPUT0", "float32", (self.elements,)),)

    def config(self) -> mc.ModelConfig:
        return build_config(
            self.name,
            self.inputs,
            self.outputs,
            self.max_batch_size,
            backend="python",
            batching=self.batching,
            instances=InstancePolicy(count=self.instances),
            parameters={"sleep_ms": repr(float(self.sleep_ms)), "matmuls": str(self.matmuls)},
        )

    def place(self, repository: ModelRepository) -> None:
        """Write and load the model; raises ModelLoadError with the server's reason."""
        repository.place(self.name, self.config(), {"1/model.py": MODEL_SOURCE})

    def workload(self, batch_size: int = 1) -> Workload:
        return synthetic_workload(self.name, self.inputs, self.outputs, batch_size=batch_size)

    def expected_throughput(self, batch_size: int = 1) -> float:
        """The known answer at concurrency 1 (inferences/s): one batch of `batch_size` per sleep."""
        if self.sleep_ms <= 0:
            raise ValueError("the identity model has no known throughput; it measures overhead")
        return batch_size * 1000.0 / self.sleep_ms


def identity_model(name: str = "calibration_identity", **options: object) -> CalibrationModel:
    return CalibrationModel(name=name, sleep_ms=0.0, **options)  # type: ignore[arg-type]


def work_model(matmuls: int, name: str | None = None, **options: object) -> CalibrationModel:
    """A model whose every batch costs the same arithmetic: a reference measured beside a real model, whose
    figures move with the machine's speed and load, and never with the code under test."""
    return CalibrationModel(name=name or f"calibration_work_{matmuls}", matmuls=matmuls, **options)  # type: ignore[arg-type]


def sleep_model(sleep_ms: float, name: str | None = None, **options: object) -> CalibrationModel:
    label = f"{sleep_ms:g}".replace(".", "p")
    name = name or f"calibration_sleep_{label}ms"
    return CalibrationModel(name=name, sleep_ms=sleep_ms, **options)  # type: ignore[arg-type]
