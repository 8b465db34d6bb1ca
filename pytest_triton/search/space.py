"""The configurations a search may deploy: format and precision, max_batch_size, dynamic batching and its queue
delay, and instance count, as a grid whose axes a hill climb can step along.

Requests are sent one row each and concurrency is swept per configuration (search.sweep), so dynamic batching is
what merges them: batching off with a max_batch_size above 1 would serve exactly what max_batch_size 1 serves,
and is not a separate configuration. Plain values with no heavy imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import FORMATS, PRECISIONS
from pytest_triton.repository.policy import BatchingPolicy, ServingPolicy


class SearchSpaceError(TritonPluginError):
    """A space with nothing in it, or bounds that make no sense."""


_ID = re.compile(
    rf"^(?P<format>{'|'.join(map(re.escape, FORMATS))})-(?P<precision>{'|'.join(PRECISIONS)})-mb(?P<size>\d+)-"
    r"(?:nodb|db(?P<delay>\d+)us)-i(?P<instances>\d+)$"
)


@dataclass(frozen=True)
class Candidate:
    """One serving configuration of one model. `max_batch_size` 0: the model takes no batches."""

    format: str
    precision: str
    max_batch_size: int
    queue_delay_us: int | None  # None: no dynamic batching
    instances: int

    @property
    def id(self) -> str:
        batching = "nodb" if self.queue_delay_us is None else f"db{self.queue_delay_us}us"
        return f"{self.format}-{self.precision}-mb{self.max_batch_size}-{batching}-i{self.instances}"

    @property
    def serving(self) -> ServingPolicy:
        batching = BatchingPolicy(enabled=self.queue_delay_us is not None, max_queue_delay_us=self.queue_delay_us or 0)
        return ServingPolicy(batching, self.instances, max_batch_size=self.max_batch_size)

    @staticmethod
    def from_id(text: str) -> "Candidate | None":
        """The candidate whose id is `text`; None where it is none."""
        match = _ID.match(text)
        if match is None:
            return None
        delay = match["delay"]
        return Candidate(
            match["format"],
            match["precision"],
            int(match["size"]),
            None if delay is None else int(delay),
            int(match["instances"]),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "precision": self.precision,
            "max_batch_size": self.max_batch_size,
            "queue_delay_us": self.queue_delay_us,
            "instances": self.instances,
        }


@dataclass(frozen=True)
class SearchSpace:
    """Axes of the grid: (format, precision) pairs, max_batch_size values (powers of two from 1), queue delays
    (µs) and instance counts, each in order."""

    variants: tuple[tuple[str, str], ...]
    max_batch_sizes: tuple[int, ...]
    queue_delays_us: tuple[int, ...]
    instances: tuple[int, ...]

    @classmethod
    def bounded(
        cls,
        variants: tuple[tuple[str, str], ...],
        export_max_batch_size: int,
        max_batch_size: int | None,
        queue_delays_us: tuple[int, ...],
        max_instances: int,
    ) -> "SearchSpace":
        """Powers of two up to `max_batch_size` (None: the export's), never above the export's; 1 to
        `max_instances` instances. A model without batching (export max 0) gets max_batch_size 0 alone."""
        if not variants:
            raise SearchSpaceError("the search space has no format and precision to serve", options=("triton_formats",))
        if max_batch_size is not None and max_batch_size < 1:
            raise SearchSpaceError(f"max_batch_size bound {max_batch_size}: give 1 or more")
        if max_instances < 1:
            raise SearchSpaceError(f"instance bound {max_instances}: give 1 or more")
        if any(delay < 0 for delay in queue_delays_us) or not queue_delays_us:
            raise SearchSpaceError(f"queue delays {list(queue_delays_us)}: give one or more of 0 µs or more")
        if export_max_batch_size == 0:
            sizes: tuple[int, ...] = (0,)
        else:
            bound = min(export_max_batch_size, max_batch_size or export_max_batch_size)
            sizes = tuple(2**k for k in range(bound.bit_length()) if 2**k <= bound)
        return cls(variants, sizes, tuple(sorted(set(queue_delays_us))), tuple(range(1, max_instances + 1)))

    def candidate(self, variant: int, size: int, delay: int, instances: int) -> Candidate:
        """The candidate at grid coordinates; the delay is ignored where nothing batches."""
        fmt, precision = self.variants[variant]
        largest = self.max_batch_sizes[size]
        batches = largest > 1
        return Candidate(
            fmt, precision, largest, self.queue_delays_us[delay] if batches else None, self.instances[instances]
        )

    def coordinates(self, candidate: Candidate) -> tuple[int, int, int, int]:
        delay = 0 if candidate.queue_delay_us is None else self.queue_delays_us.index(candidate.queue_delay_us)
        return (
            self.variants.index((candidate.format, candidate.precision)),
            self.max_batch_sizes.index(candidate.max_batch_size),
            delay,
            self.instances.index(candidate.instances),
        )

    def candidates(self) -> list[Candidate]:
        """The whole grid, each configuration once, smallest first."""
        found = {
            self.candidate(v, s, d, i): None
            for v in range(len(self.variants))
            for s in range(len(self.max_batch_sizes))
            for d in range(len(self.queue_delays_us))
            for i in range(len(self.instances))
        }
        return list(found)

    def start(self) -> Candidate:
        """Where a hill climb starts: the first variant, the smallest everything."""
        return self.candidate(0, 0, 0, 0)

    def neighbours(self, candidate: Candidate) -> list[Candidate]:
        """One step along each ordered axis, and every other variant at the same serving coordinates (format and
        precision have no order)."""
        v, s, d, i = self.coordinates(candidate)
        limits = (len(self.variants), len(self.max_batch_sizes), len(self.queue_delays_us), len(self.instances))
        steps = [(v2, s, d, i) for v2 in range(limits[0]) if v2 != v]
        for axis in (1, 2, 3):
            for step in (-1, 1):
                moved = [v, s, d, i]
                moved[axis] += step
                if 0 <= moved[axis] < limits[axis]:
                    steps.append((moved[0], moved[1], moved[2], moved[3]))
        if candidate.queue_delay_us is None and s + 1 < limits[1]:  # where batching starts, every delay is a step
            steps += [(v, s + 1, delay, i) for delay in range(limits[2])]
        found = {self.candidate(*coords): None for coords in steps}
        found.pop(candidate, None)  # a delay step where nothing batches lands on the same configuration
        return list(found)
