"""Which performance configurations a run measures, from the --triton-perf-* options."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import FORMATS, PRECISIONS
from pytest_triton.models.variant import Variant
from pytest_triton.perf.load import LoadPoint, concurrency_range, request_rate_range
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.repository.policy import BatchingPolicy, ServingPolicy
from pytest_triton.settings import choices_list

# The seeds' dynamic batcher: prefer full batches, wait at most 100 us for them.
DYNAMIC_BATCHING = BatchingPolicy(enabled=True, preferred_batch_sizes=(4, 8), max_queue_delay_us=100)


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

    def points(self, variants: list[Variant]) -> list[PerfPoint]:
        chosen = [v for v in variants if v.format in self.formats and v.precision in self.precisions]
        return [
            PerfPoint(variant, ServingPolicy(DYNAMIC_BATCHING if on else BatchingPolicy(enabled=False), count), batch)
            for variant in chosen
            for on in self.batching
            for count in self.instances
            for batch in self.batch_sizes
            if batch <= variant.spec.max_batch_size
        ]

    @classmethod
    def from_values(cls, get) -> "PerfPlan":
        """From `get(dest)` as Settings does; a bad value raises TritonPluginError naming the option."""

        def text(dest: str, default: str) -> str:
            value = get(dest)
            return str(value) if value not in (None, "") else default

        def numbers(option: str, dest: str, default: str) -> tuple[int, ...]:
            try:
                values = tuple(int(v) for v in text(dest, default).split(","))
            except ValueError:
                raise TritonPluginError(f"--{option}={text(dest, default)!r}: expected a comma list of integers") from None
            if any(v < 1 for v in values):
                raise TritonPluginError(f"--{option}: every value must be at least 1")
            return values

        batching_words = text("triton_perf_batching", "off,on").split(",")
        if any(w not in ("off", "on") for w in batching_words):
            raise TritonPluginError(f"--triton-perf-batching={','.join(batching_words)!r}: use off, on or off,on")
        try:
            loads: list[LoadPoint] = [
                point for part in text("triton_perf_concurrency", "1,4").split(",") for point in concurrency_range(part)
            ]
            rate = text("triton_perf_request_rate", "")
            arrivals = text("triton_perf_arrivals", "constant")
            if arrivals not in ("constant", "poisson"):
                raise ValueError(f"--triton-perf-arrivals={arrivals!r}: use constant or poisson")
            if rate:
                loads += [p for part in rate.split(",") for p in request_rate_range(part, arrivals)]  # type: ignore[arg-type]
            window = float(text("triton_perf_window", "1.0"))
            stability = float(text("triton_perf_stability", "10"))
            settings = MeasurementSettings(window_s=window, warmup_s=min(window, 1.0), stability_pct=stability)
        except ValueError as error:
            raise TritonPluginError(f"performance options: {error}") from None
        engine = text("triton_perf_engine", "asyncio")
        if engine not in ("asyncio", "perf_analyzer"):
            raise TritonPluginError(f"--triton-perf-engine={engine!r}: use asyncio or perf_analyzer")
        return cls(
            formats=choices_list("triton-perf-formats", text("triton_perf_formats", "onnx"), FORMATS),
            precisions=choices_list("triton-perf-precisions", text("triton_perf_precisions", "fp32"), PRECISIONS),
            batch_sizes=numbers("triton-perf-batch-sizes", "triton_perf_batch_sizes", "1,8"),
            batching=tuple(w == "on" for w in dict.fromkeys(batching_words)),
            instances=numbers("triton-perf-instances", "triton_perf_instances", "1,2"),
            loads=tuple(loads),
            settings=settings,
            engine=engine,
        )
