"""The configurations a search may deploy: format and precision, max_batch_size, dynamic batching and its queue
delay, and instance count, as a grid whose axes a hill climb can step along.

Requests are sent one row each and concurrency is swept per configuration (search.sweep), so dynamic batching is
what merges them: batching off with a max_batch_size above 1 would serve exactly what max_batch_size 1 serves,
and is not a separate configuration. Plain values with no heavy imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import FORMATS, PRECISIONS
from pytest_triton.repository.policy import BatchingPolicy, ServingPolicy, device_suffix


class SearchSpaceError(TritonPluginError):
    """A space with nothing in it, or bounds that make no sense."""


_ID = re.compile(
    rf"^(?P<format>{'|'.join(map(re.escape, FORMATS))})-(?P<precision>{'|'.join(PRECISIONS)})-mb(?P<size>\d+)-"
    r"(?:nodb|db(?P<delay>\d+)us)-i(?P<instances>\d+)(?:-(?P<device>cpu|gpu\d+(?:\.\d+)*))?$"
)


@dataclass(frozen=True)
class Candidate:
    """One serving configuration of one model. `max_batch_size` 0: the model takes no batches."""

    format: str
    precision: str
    max_batch_size: int
    queue_delay_us: int | None  # None: no dynamic batching
    instances: int
    gpus: tuple[int, ...] | None = None  # where instances go: () the CPU; None: the run's device

    @property
    def id(self) -> str:
        batching = "nodb" if self.queue_delay_us is None else f"db{self.queue_delay_us}us"
        device = device_suffix(self.gpus)
        return f"{self.format}-{self.precision}-mb{self.max_batch_size}-{batching}-i{self.instances}{device}"

    @property
    def serving(self) -> ServingPolicy:
        batching = BatchingPolicy(enabled=self.queue_delay_us is not None, max_queue_delay_us=self.queue_delay_us or 0)
        return ServingPolicy(batching, self.instances, max_batch_size=self.max_batch_size, gpus=self.gpus)

    @staticmethod
    def from_id(text: str) -> "Candidate | None":
        """The candidate whose id is `text`; None where it is none."""
        match = _ID.match(text)
        if match is None:
            return None
        delay, device = match["delay"], match["device"]
        gpus = None if device is None else () if device == "cpu" else tuple(int(g) for g in device[3:].split("."))
        return Candidate(
            match["format"],
            match["precision"],
            int(match["size"]),
            None if delay is None else int(delay),
            int(match["instances"]),
            gpus,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "precision": self.precision,
            "max_batch_size": self.max_batch_size,
            "queue_delay_us": self.queue_delay_us,
            "instances": self.instances,
            "gpus": None if self.gpus is None else list(self.gpus),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "Candidate":
        gpus = data.get("gpus")
        return Candidate(
            data["format"],
            data["precision"],
            data["max_batch_size"],
            data["queue_delay_us"],
            data["instances"],
            None if gpus is None else tuple(gpus),
        )


@dataclass(frozen=True)
class SearchSpace:
    """Axes of the grid: (format, precision) pairs, max_batch_size values (powers of two from 1), queue delays
    (µs) and instance counts, each in order, and where instances go (Candidate.gpus; the run's device alone on a
    CPU run)."""

    variants: tuple[tuple[str, str], ...]
    max_batch_sizes: tuple[int, ...]
    queue_delays_us: tuple[int, ...]
    instances: tuple[int, ...]
    devices: tuple[tuple[int, ...] | None, ...] = (None,)

    @classmethod
    def bounded(
        cls,
        variants: tuple[tuple[str, str], ...],
        export_max_batch_size: int,
        max_batch_size: int | None,
        queue_delays_us: tuple[int, ...],
        max_instances: int,
        devices: tuple[tuple[int, ...] | None, ...] = (None,),
    ) -> "SearchSpace":
        """Powers of two up to `max_batch_size` (None: the export's), never above the export's; 1 to
        `max_instances` instances. A model without batching (export max 0) gets max_batch_size 0 alone."""
        if not variants:
            raise SearchSpaceError("the search space has no format and precision to serve", options=("triton_formats",))
        if max_batch_size is not None and max_batch_size < 1:
            raise SearchSpaceError(
                f"max_batch_size bound {max_batch_size}: give 1 or more", options=("triton_search_max_batch_size",)
            )
        if max_instances < 1:
            raise SearchSpaceError(
                f"instance bound {max_instances}: give 1 or more", options=("triton_search_max_instances",)
            )
        if any(delay < 0 for delay in queue_delays_us) or not queue_delays_us:
            raise SearchSpaceError(
                f"queue delays {list(queue_delays_us)}: give one or more of 0 µs or more",
                options=("triton_search_queue_delays",),
            )
        if export_max_batch_size == 0:
            sizes: tuple[int, ...] = (0,)
        else:
            bound = min(export_max_batch_size, max_batch_size or export_max_batch_size)
            sizes = tuple(2**k for k in range(bound.bit_length()) if 2**k <= bound)
        delays, counts = tuple(sorted(set(queue_delays_us))), tuple(range(1, max_instances + 1))
        return cls(variants, sizes, delays, counts, devices)

    def candidate(self, variant: int, size: int, delay: int, instances: int, device: int = 0) -> Candidate:
        """The candidate at grid coordinates; the delay is ignored where nothing batches."""
        fmt, precision = self.variants[variant]
        largest = self.max_batch_sizes[size]
        delay_us = self.queue_delays_us[delay] if largest > 1 else None
        return Candidate(fmt, precision, largest, delay_us, self.instances[instances], self.devices[device])

    def coordinates(self, candidate: Candidate) -> tuple[int, int, int, int, int]:
        delay = 0 if candidate.queue_delay_us is None else self.queue_delays_us.index(candidate.queue_delay_us)
        return (
            self.variants.index((candidate.format, candidate.precision)),
            self.max_batch_sizes.index(candidate.max_batch_size),
            delay,
            self.instances.index(candidate.instances),
            self.devices.index(candidate.gpus),
        )

    def candidates(self) -> list[Candidate]:
        """The whole grid, each configuration once, smallest first."""
        found = {
            self.candidate(v, s, d, i, g): None
            for v in range(len(self.variants))
            for s in range(len(self.max_batch_sizes))
            for d in range(len(self.queue_delays_us))
            for i in range(len(self.instances))
            for g in range(len(self.devices))
        }
        return list(found)

    def start(self) -> Candidate:
        """Where a hill climb starts: the first variant, the smallest everything."""
        return self.candidate(0, 0, 0, 0)

    def neighbours(self, candidate: Candidate) -> list[Candidate]:
        """One step along each ordered axis (max_batch_size, delay, instances), and every other value of the axes
        without order (format and precision, where instances go) with the rest as it is."""
        here = self.coordinates(candidate)
        limits = (
            len(self.variants),
            len(self.max_batch_sizes),
            len(self.queue_delays_us),
            len(self.instances),
            len(self.devices),
        )
        steps: list[tuple[int, ...]] = []
        for axis in range(5):
            ordered = axis in (1, 2, 3)
            for value in (here[axis] - 1, here[axis] + 1) if ordered else range(limits[axis]):
                if 0 <= value < limits[axis] and value != here[axis]:
                    steps.append((*here[:axis], value, *here[axis + 1 :]))
        v, s, _, i, g = here
        if candidate.queue_delay_us is None and s + 1 < limits[1]:  # where batching starts, every delay is a step
            steps += [(v, s + 1, delay, i, g) for delay in range(limits[2])]
        found = {self.candidate(*coords): None for coords in steps}
        found.pop(candidate, None)  # a delay step where nothing batches lands on the same configuration
        return list(found)
