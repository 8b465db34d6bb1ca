"""How a model is served: dynamic batching, instances, and the two together as a serving policy.

Plain values with no protobuf or client imports, so that plans can be built from options before anything is served.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchingPolicy:
    """Dynamic batching as the seeds configure it; `enabled=False` serves each request alone."""

    enabled: bool = True
    preferred_batch_sizes: tuple[int, ...] = ()
    max_queue_delay_us: int = 100


@dataclass(frozen=True)
class InstancePolicy:
    """How many model instances, and on which GPUs (none: on the CPU)."""

    count: int = 1
    gpus: tuple[int, ...] = ()


@dataclass(frozen=True)
class ServingPolicy:
    """How a variant is served: dynamic batching, instance count and warm-up at load (the perf suite varies
    these, and the config search max_batch_size too). `warmup`: the config's model_warmup sends each instance a
    request of zeros before the model is ready, so that the first real request does not pay for lazy
    initialisation. `cuda_graphs`: the TensorRT backend captures CUDA graphs at load and replays them (the ResNeXt
    deployer's --capture-cuda-graph); only a TensorRT plan on a GPU takes it. `max_batch_size`: the config's, at
    most the export's; None: the export's."""

    batching: BatchingPolicy = BatchingPolicy()
    instance_count: int = 1
    warmup: bool = False
    max_batch_size: int | None = None
    gpus: tuple[int, ...] | None = None  # where the instances go: () the CPU; None: the run's GPUs (or the CPU)
    cuda_graphs: bool = False

    def instances(self, run_gpus: tuple[int, ...]) -> InstancePolicy:
        return InstancePolicy(self.instance_count, run_gpus if self.gpus is None else self.gpus)

    @property
    def suffix(self) -> str:
        """Model-name suffix; empty for the default policy, so the conformance names stay short."""
        if self == ServingPolicy():
            return ""
        batching = self.batching
        warm = ("-warm" if self.warmup else "") + ("-graphs" if self.cuda_graphs else "")
        largest = "" if self.max_batch_size is None else f"-mb{self.max_batch_size}"
        instances = f"-i{self.instance_count}{device_suffix(self.gpus)}{warm}"
        if not batching.enabled:
            return f"{largest}-nodb{instances}"
        preferred = "".join(f"-p{size}" for size in batching.preferred_batch_sizes)
        return f"{largest}-db{batching.max_queue_delay_us}us{preferred}{instances}"


def device_suffix(gpus: tuple[int, ...] | None) -> str:
    """Where instances go, in a name: "" for the run's device, "-cpu", or "-gpu0.1" for GPUs 0 and 1."""
    if gpus is None:
        return ""
    return "-cpu" if not gpus else "-gpu" + ".".join(map(str, gpus))
