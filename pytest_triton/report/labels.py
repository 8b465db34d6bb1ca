"""Configuration ids and load labels in words, for the plots: "bert-tiny-onnx-fp32-b8-db100us-p4-p8-i2" reads
"bert-tiny onnx fp32: batch 8, dynamic batching (100 µs, prefers 4, 8), 2 instances" and "c4" reads "concurrency 4".

The ids are made by kinds.variant_id, repository.policy.ServingPolicy.suffix and perf.plan.PerfPoint.id; reports
carry only the ids (they travel as JSON), so they are read back here, and tests/report/test_labels.py holds the two
sides together."""

from __future__ import annotations

import re

from pytest_triton.kinds import FORMATS, PRECISIONS, SERVED

_VARIANT = re.compile(
    rf"^(?P<model>.+?)-(?P<format>{'|'.join((*FORMATS, SERVED))})-(?P<precision>{'|'.join(PRECISIONS)})(?P<rest>.*)$"
)
_SIMPLE = {
    "nodb": "no dynamic batching",
    "cpu": "instances on the CPU",
    "warm": "warm-up at load",
    "graphs": "CUDA graphs",
}


def config_words(config: str) -> str:
    """A configuration id in words; an id of another shape as it is."""
    match = _VARIANT.match(config)
    if match is None:
        return config
    head = f"{match['model']} {match['format']} {match['precision']}"
    parts = _serving_words([token for token in match["rest"].split("-") if token])
    return f"{head}: {', '.join(parts)}" if parts else head


def _serving_words(tokens: list[str]) -> list[str]:
    words: list[str] = []
    preferred = [token[1:] for token in tokens if re.fullmatch(r"p\d+", token)]
    for token in tokens:
        number = re.fullmatch(r"(b|mb|i)(\d+)", token)
        delay = re.fullmatch(r"db(\d+)us", token)
        if number:
            kind, count = number.groups()
            plural = "s" if count != "1" and kind == "i" else ""
            words.append({"b": f"batch {count}", "mb": f"max batch {count}", "i": f"{count} instance{plural}"}[kind])
        elif delay:
            prefers = f", prefers {', '.join(preferred)}" if preferred else ""
            words.append(f"dynamic batching ({delay[1]} µs{prefers})")
        elif token.startswith("gpu"):
            words.append(f"instances on GPU {token[3:].replace('.', ', ')}")
        elif not re.fullmatch(r"p\d+", token):
            words.append(_SIMPLE.get(token, token))
    return words


def point_words(point: str) -> str:
    """A load label or baseline point in words: "c4" -> "concurrency 4", "r100-poisson" -> "100 req/s (Poisson
    arrivals)", "cold" -> "cold start"; others as they are (an evaluation set's name)."""
    concurrency = re.fullmatch(r"c(\d+)", point)
    rate = re.fullmatch(r"r([\d.]+)(-poisson)?", point)
    if concurrency:
        return f"concurrency {concurrency[1]}"
    if rate:
        return f"{rate[1]} req/s" + (" (Poisson arrivals)" if rate[2] else "")
    return "cold start" if point == "cold" else point
