"""Which performance configurations a run measures: formats, precisions, serving policies, batch sizes, loads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import SERVED
from pytest_triton.models.variant import Variant
from pytest_triton.perf.limits import Limit
from pytest_triton.perf.load import LoadPoint
from pytest_triton.perf.settings import MeasurementSettings, Rounds
from pytest_triton.repository.policy import BatchingPolicy, ServingPolicy

# The seeds' dynamic batcher: prefer full batches, wait at most 100 us for them.
DYNAMIC_BATCHING = BatchingPolicy(enabled=True, preferred_batch_sizes=(4, 8), max_queue_delay_us=100)


def dynamic_batching(max_batch_size: int) -> BatchingPolicy:
    """The seeds' batcher for a model of this max_batch_size: Triton refuses to load a config that prefers a batch
    larger than its max_batch_size, so those sizes are left out (and out of the point's id)."""
    preferred = tuple(size for size in DYNAMIC_BATCHING.preferred_batch_sizes if size <= max_batch_size)
    return replace(DYNAMIC_BATCHING, preferred_batch_sizes=preferred)


@dataclass(frozen=True)
class PerfPoint:
    """One measured configuration: a variant served under a policy, sent batches of `batch_size`."""

    variant: Variant
    serving: ServingPolicy
    batch_size: int

    @property
    def id(self) -> str:
        return f"{self.variant.id}-b{self.batch_size}{self.serving.suffix}"


@dataclass(frozen=True)
class PerfPlan:
    formats: tuple[str, ...]
    precisions: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    batching: tuple[bool, ...]
    instances: tuple[int, ...]
    loads: tuple[LoadPoint, ...]
    settings: MeasurementSettings
    engine: str
    limits: tuple[Limit, ...] = ()
    warmup: tuple[bool, ...] = (False,)  # model_warmup in the config: without, with, or both side by side
    cuda_graphs: tuple[bool, ...] = (False,)  # CUDA graphs captured at load, for TensorRT plans: likewise
    # Slice pairs of each load point measured against the reference served beside it (perf.reference); 0: none.
    reference_slices: int = 0
    # Model name -> a perf_analyzer input data file its requests come from; "" for every model without its own.
    input_data: Mapping[str, Path] = field(default_factory=dict)
    # How a load point is measured side by side with the baseline deployment; None: there is none.
    against: Rounds | None = None
    in_process: bool = False  # also time the exported model in the pytest process (checks.in_process)
    sequence_length: int = 20  # steps of each sequence a sequence model is sent (perf_analyzer's default)

    def input_data_for(self, model: str) -> Path | None:
        return self.input_data.get(model, self.input_data.get(""))

    def points(self, variants: list[Variant]) -> list[PerfPoint]:
        """The grid over the variants of the plan's formats and precisions. A model someone else serves (format
        "served", remote mode) is measured as it is served: its serving policy is not ours to change. A model
        without batching (max_batch_size 0) is sent its sample as it is, one inference a request, with no dynamic
        batcher: there is nothing to merge. A model whose signature comes from the server gets every batch size."""
        points = []
        for variant in variants:
            batches = variant.spec.max_batch_size > 0
            if variant.format == SERVED:
                policies = [ServingPolicy()]
            elif variant.format in self.formats and variant.precision in self.precisions:
                policies = [
                    ServingPolicy(
                        dynamic_batching(variant.spec.max_batch_size) if on else BatchingPolicy(enabled=False),
                        count,
                        warm,
                        cuda_graphs=graphs,
                    )
                    for on in (self.batching if batches else (False,))
                    for count in self.instances
                    for warm in self.warmup
                    # Only the TensorRT backend captures graphs: other formats are measured once, without.
                    for graphs in (self.cuda_graphs if variant.format == "trt" else (False,))
                ]
            else:
                continue
            if variant.spec.from_server:  # max_batch_size is known once served: sizes it cannot take skip then
                sizes = list(self.batch_sizes)
            else:
                sizes = [size for size in self.batch_sizes if size <= variant.spec.max_batch_size] if batches else [1]
            points += [PerfPoint(variant, policy, size) for policy in policies for size in sizes]
        measured = {point.variant.spec.name for point in points}
        unknown = sorted(model for model in self.input_data if model and model not in measured)
        if unknown:  # a typo would otherwise measure the generated requests in silence
            raise TritonPluginError(
                f"input data is given for {', '.join(unknown)}, which this run does not measure "
                f"(it measures {', '.join(sorted(measured)) or 'nothing'})",
                options=("triton_perf_input_data",),
            )
        return points

    @classmethod
    def from_options(cls, values: Mapping[str, Any]) -> "PerfPlan":
        """From the checked option values of options.read_options."""
        window = values["triton_perf_window"]
        return cls(
            formats=values["triton_perf_formats"],
            precisions=values["triton_perf_precisions"],
            batch_sizes=values["triton_perf_batch_sizes"],
            batching=values["triton_perf_batching"],
            instances=values["triton_perf_instances"],
            warmup=values["triton_perf_warmup"],
            cuda_graphs=values["triton_perf_cuda_graphs"],
            loads=(*values["triton_perf_concurrency"], *(values["triton_perf_request_rate"] or ())),
            settings=MeasurementSettings(
                window_s=window,
                warmup_s=min(window, 1.0),
                stability_pct=values["triton_perf_stability"],
                percentile=values["triton_perf_percentile"],
                max_steal_share=values["triton_perf_max_steal"] / 100,
                min_requests=values["triton_perf_min_requests"] or 0,
                # A remote server may be known by its HTTP address alone.
                protocol=values["triton_protocol"],
            ),
            engine=values["triton_perf_engine"],
            limits=values["triton_slo"] or (),
            input_data=values["triton_perf_input_data"] or {},
            reference_slices=values["triton_perf_reference"] or 0,
            against=Rounds(budget_s=values["triton_perf_against_budget"]) if values["triton_perf_against"] else None,
            in_process=bool(values["triton_perf_in_process"]),
            sequence_length=values["triton_perf_sequence_length"],
        )
