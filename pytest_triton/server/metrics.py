"""Triton's metrics endpoint: Prometheus text format, read with prometheus_client's parser."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Mapping

from pytest_triton.errors import TritonPluginError


class MetricsError(TritonPluginError):
    """The metrics endpoint could not be read or did not speak the Prometheus text format."""


@dataclass(frozen=True)
class ServerMetrics:
    """One scrape: metric sample name -> (labels, value) per series."""

    series: Mapping[str, tuple[tuple[Mapping[str, str], float], ...]] = field(default_factory=dict)

    def values(self, name: str) -> list[float]:
        # The parser names a counter's samples NAME_total, as OpenMetrics does; Triton's text says NAME.
        found = self.series.get(name) or self.series.get(f"{name}_total", ())
        return [value for _, value in found]

    def total(self, name: str) -> float | None:
        """The sum over every series of `name` (every GPU, say); None where the server exports no such metric."""
        values = self.values(name)
        return sum(values) if values else None

    def mean(self, name: str) -> float | None:
        values = self.values(name)
        return sum(values) / len(values) if values else None


def parse_metrics(text: str) -> ServerMetrics:
    from prometheus_client.parser import text_string_to_metric_families

    series: dict[str, list[tuple[Mapping[str, str], float]]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                series.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    except (ValueError, TypeError) as error:
        raise MetricsError(f"the metrics endpoint's text is not in the Prometheus format: {error}") from None
    return ServerMetrics({name: tuple(values) for name, values in series.items()})


def read_metrics(url: str, timeout_s: float = 5.0) -> ServerMetrics:
    """Scrape http://HOST:PORT/metrics (`url` is HOST:PORT, as Triton's --metrics-port serves it)."""
    address = url if url.startswith(("http://", "https://")) else f"http://{url}"
    # No proxy: an http_proxy meant for the internet must not carry a scrape of a server next door.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{address.rstrip('/')}/metrics", timeout=timeout_s) as response:
            text = response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise MetricsError(f"cannot read Triton's metrics at {address}/metrics: {error}") from None
    return parse_metrics(text)
