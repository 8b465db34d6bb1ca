"""The run's settings: `Settings.from_values` turns the raw values of the options (options.py) into a typed,
checked object that the library uses without pytest."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pytest_triton.checks.tolerance import Tolerances, parse_tolerances
from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import FORMATS, LAUNCH_MODES, PRECISIONS, PROTOCOLS
from pytest_triton.options import DEFAULT_IMAGE
from pytest_triton.server.endpoint import ClientSecurity


@dataclass(frozen=True)
class Settings:
    launch_mode: str = "local"
    server_binary: Path | None = None
    image: str = DEFAULT_IMAGE
    url: str | None = None
    protocol: str = "grpc"
    security: ClientSecurity = ClientSecurity()
    gpus: tuple[int, ...] = ()
    models: tuple[str, ...] = ()
    formats: tuple[str, ...] = FORMATS
    precisions: tuple[str, ...] = PRECISIONS
    checkpoints: dict[str, Path] = field(default_factory=dict)
    tolerances: Tolerances = field(default_factory=Tolerances)
    start_timeout: float = 120.0
    cache_dir: Path | None = None

    @property
    def device(self) -> str:
        """Where references run and instances are placed: the first GPU given, else the CPU."""
        return f"cuda:{self.gpus[0]}" if self.gpus else "cpu"

    def for_worker(self, index: int, is_xdist_worker: bool) -> "Settings":
        """Under xdist, worker i takes GPU i modulo the list (pytest -n 4 --triton-gpu=0,1,2,3: one GPU each);
        a single process keeps every GPU and spreads its model instances over them."""
        if not is_xdist_worker or len(self.gpus) < 2:
            return self
        return dataclasses.replace(self, gpus=(self.gpus[index % len(self.gpus)],))

    @classmethod
    def from_values(cls, get: Callable[[str], object], known_models: tuple[str, ...]) -> "Settings":
        """Build from `get(dest)`; any bad value raises TritonPluginError naming the option and the choices."""
        url = _text(get("triton_url"))
        mode = _choice("triton-launch-mode", _text(get("triton_launch_mode")) or "local", LAUNCH_MODES)
        if url and mode == "local":
            mode = "remote"
        if mode == "remote" and not url:
            raise TritonPluginError("--triton-launch-mode=remote needs --triton-url=HOST:PORT")
        if url:
            _check_url(url)
        models = choices_list("triton-models", get("triton_models"), known_models)
        return cls(
            launch_mode=mode,
            server_binary=Path(str(get("triton_server"))) if get("triton_server") else None,
            image=_text(get("triton_image")) or DEFAULT_IMAGE,
            url=url,
            protocol=_choice("triton-protocol", _text(get("triton_protocol")) or "grpc", PROTOCOLS),
            security=ClientSecurity(
                ssl=bool(get("triton_ssl")),
                root_certificates=_text(get("triton_root_certs")),
                headers=_headers(_items(get("triton_header"))),
            ),
            gpus=_gpus(_text(get("triton_gpu"))),
            models=models,
            formats=choices_list("triton-formats", get("triton_formats"), FORMATS) or FORMATS,
            precisions=choices_list("triton-precisions", get("triton_precisions"), PRECISIONS) or PRECISIONS,
            checkpoints=_checkpoints(_items(get("triton_checkpoint")), models, known_models),
            tolerances=parse_tolerances(_items(get("triton_tolerance"))),
            start_timeout=_positive("triton-start-timeout", _text(get("triton_start_timeout")) or "120"),
            cache_dir=Path(str(get("triton_cache_dir"))) if get("triton_cache_dir") else None,
        )


def _text(value: object) -> str | None:
    if value is None or value == "" or value == []:
        return None
    return value[-1] if isinstance(value, list) else str(value)


def _items(value: object) -> list[str]:
    if not value:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise TritonPluginError(f"--{option}={value!r} is not valid; choose one of: {', '.join(choices)}")
    return value


def choices_list(option: str, value: object, choices: tuple[str, ...]) -> tuple[str, ...]:
    """A comma list (or several items) of names from `choices`; an unknown one is an error listing them."""
    names = [n.strip() for item in _items(value) for n in item.split(",") if n.strip()]
    unknown = [n for n in names if n not in choices]
    if unknown:
        raise TritonPluginError(
            f"--{option}: unknown {', '.join(map(repr, unknown))}; valid choices: {', '.join(choices)}"
        )
    return tuple(dict.fromkeys(names))


def _check_url(url: str) -> None:
    if "://" in url:
        raise TritonPluginError(f"--triton-url={url!r}: give HOST:PORT without a scheme; TLS is --triton-ssl")
    host, _, port = url.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TritonPluginError(f"--triton-url={url!r}: expected HOST:PORT, e.g. triton.internal:8001")


def _gpus(value: str | None) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        gpus = tuple(int(g) for g in value.split(","))
    except ValueError:
        raise TritonPluginError(f"--triton-gpu={value!r}: expected a GPU index or a comma list, e.g. 0 or 0,1") from None
    if any(g < 0 for g in gpus):
        raise TritonPluginError(f"--triton-gpu={value!r}: GPU indices are 0 or more")
    return gpus


def _headers(items: list[str]) -> dict[str, str]:
    headers = {}
    # Errors name the item by position, never by content: a misplaced '=' can put a token in the key.
    for number, item in enumerate(items, start=1):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TritonPluginError(f"--triton-header #{number}: expected KEY=VALUE (its text is not shown)")
        key = key.strip().lower()  # gRPC metadata keys must be lower case; HTTP names ignore case
        if not re.fullmatch(r"[a-z0-9._-]+", key):
            raise TritonPluginError(
                f"--triton-header #{number}: the name before '=' may hold only letters, digits, '-', '_' and '.' "
                "(its text is not shown)"
            )
        headers[key] = value
    return headers


def _checkpoints(items: list[str], models: tuple[str, ...], known: tuple[str, ...]) -> dict[str, Path]:
    checkpoints = {}
    for item in items:
        model, sep, path = item.partition("=")
        if not sep:
            if len(models) != 1:
                raise TritonPluginError(
                    f"--triton-checkpoint={item}: say which model it is for (MODEL=PATH) or select one model "
                    "with --triton-models"
                )
            model, path = models[0], item
        if model not in known:
            raise TritonPluginError(f"--triton-checkpoint: unknown model {model!r}; valid: {', '.join(known)}")
        if not Path(path).exists():
            raise TritonPluginError(f"--triton-checkpoint for {model}: {path} does not exist")
        checkpoints[model] = Path(path)
    return checkpoints


def _positive(option: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1
    if not math.isfinite(number) or number <= 0:
        raise TritonPluginError(f"--{option}={value!r}: expected a positive number of seconds")
    return number
