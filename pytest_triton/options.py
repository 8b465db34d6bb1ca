"""Every option of the plugin, declared once: `--{flag}` on the command line, `{dest}` as an ini key, its parser and
its default (shown in --help from the same value). `read_options` turns what pytest read into checked values, and
Settings, PerfPlan and AccuracyPlan are built from those; only this module names flags in its errors.

Light on purpose: pytest registers the options of an installed plugin from this table before any test asks for
Triton, so it imports nothing heavy (parsers that need a library import it when they run).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pytest_triton.errors import BadValue, TritonPluginError
from pytest_triton.kinds import (
    DEFAULT_IMAGE,
    DEFAULT_PRECISIONS,
    FORMATS,
    LAUNCH_MODES,
    PRECISIONS,
    PROTOCOLS,
    SEARCH_MODES,
    STREAM_TIMEOUT_S,
)
from pytest_triton.models.zoo import DEFAULT_MODELS
from pytest_triton.server.endpoint import group_addresses


@dataclass(frozen=True)
class Option:
    """One option: `--{flag}` on the command line and `{dest}` as ini key. `parse` takes the text (the list of texts
    of a repeatable option: comma lists are repeatable too) and raises ValueError saying what is wrong; the default
    is text parsed the same way."""

    flag: str
    help: str
    parse: Callable[[Any], object] = lambda text: text
    default: str | None = None
    multiple: bool = False  # may be given several times (and as several ini lines)
    is_switch: bool = False

    @property
    def dest(self) -> str:
        return self.flag.replace("-", "_")

    @property
    def help_text(self) -> str:
        return self.help if self.default is None else f"{self.help} (default: {self.default})"

    def read(self, given: object) -> object:
        """The checked value of what pytest read (command line, else ini), or of the default."""
        if self.is_switch:
            return bool(given)
        raw: Any = [item for item in _items(given) if item.strip()] if self.multiple else _last(given)
        if not raw and self.default is not None:  # blank means not given
            raw = [self.default] if self.multiple else self.default
        if raw is None:
            return None
        try:
            return self.parse(raw)
        except ValueError as error:
            # A repeatable option's texts are not echoed whole: they may hold secrets (headers).
            where = getattr(error, "where", None)
            where = where if where is not None else "" if self.multiple else f"={raw!r}"
            raise TritonPluginError(f"--{self.flag}{where}: {error}") from None


def _last(value: object) -> str | None:
    """A single-valued option's text; an ini list gives its last line, and blank means not given."""
    if isinstance(value, list):
        value = value[-1] if value else None
    return None if value is None or str(value).strip() == "" else str(value)


def _items(value: object) -> list[str]:
    if not value:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# -- parsers: text to value, ValueError (or BadValue) saying why not ---------------------------------------------


def _names(items: list[str]) -> list[str]:
    """The names of comma lists given one or more times (or as ini lines)."""
    return [n.strip() for item in items for n in item.split(",") if n.strip()]


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_names(items)))


def choices(allowed: tuple[str, ...]) -> Callable[[list[str]], tuple[str, ...]]:
    """Comma lists of names from `allowed`, deduplicated in order; an empty list means all of them."""

    def parse(items: list[str]) -> tuple[str, ...]:
        return check_names(_unique(items), allowed) or allowed

    return parse


def check_names(names: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise BadValue(f"unknown {', '.join(map(repr, unknown))}; valid choices: {', '.join(allowed)}", where="")
    return names


def one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip() not in allowed:
            raise ValueError(f"choose one of: {', '.join(allowed)}")
        return text.strip()

    return parse


def positive_ints(items: list[str]) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in _names(items))
    except ValueError:
        raise BadValue(f"{','.join(items)!r} is not a comma list of integers", where="") from None
    if any(v < 1 for v in values):
        raise BadValue("every value must be at least 1", where="")
    return tuple(dict.fromkeys(values))


def positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    """A positive, finite number of `kind` (int or float)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = -1
        if not math.isfinite(value) or value <= 0:
            raise ValueError("expected a positive number")
        return value

    return parse


def _path(text: str) -> Path:
    return Path(text)


def _existing(kind: str, what: str) -> Callable[[str], Path]:
    def parse(text: str) -> Path:
        if not (Path(text).is_dir() if kind == "directory" else Path(text).is_file()):
            raise BadValue(f"no such {kind}; give {what}", where=f"={text}")
        return Path(text)

    return parse


def _input_data(items: list[str]) -> dict[str, Path]:
    files = {}
    for item in items:
        model, sep, path = item.rpartition("=")
        if not Path(path).is_file() or (sep and not model.strip()):
            raise BadValue(
                "expected [MODEL=]FILE naming a perf_analyzer input data JSON file, e.g. bert-tiny=requests.json",
                where=f"={item!r}",
            )
        if model.strip() in files:
            raise BadValue(f"two files for {model.strip() or 'every model'}: give one", where=f"={item!r}")
        files[model.strip()] = Path(path)
    return files


def _urls(items: list[str]) -> list[tuple[str | None, str]]:
    """Each address as (protocol or None: --triton-protocol's, HOST:PORT); @FILE reads one per line (# comments)."""
    addresses = []
    for item in items:
        if item.startswith("@"):
            try:
                lines = Path(item[1:]).read_text().splitlines()
            except OSError as error:
                raise BadValue(f"cannot read the file of addresses: {error.strerror}", where=f"={item}") from None
            listed = _urls([line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()])
            if not listed:
                raise BadValue("the file of addresses holds none (one HOST:PORT a line)", where=f"={item}")
            addresses += listed
            continue
        scheme, sep, address = item.strip().rpartition("://")
        if sep and scheme not in PROTOCOLS:
            reason = "TLS is --triton-ssl with http:// or grpc://" if scheme == "https" else "use grpc:// or http://"
            raise BadValue(f"unknown scheme {scheme}://; {reason}", where=f"={item}")
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise BadValue("expected [grpc://|http://]HOST:PORT, e.g. triton.internal:8001", where=f"={item}")
        addresses.append((scheme or None, address))
    return addresses


def _port(text: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise ValueError("expected a port number, 1 to 65535, e.g. 8002")
    return int(text)


def _slice_pairs(text: str) -> int:
    count = positive(int)(text)
    if count < 2:
        raise ValueError("expected at least 2: the ratio's noise comes from the spread of its pairs")
    return int(count)


def _against(text: str) -> Path | tuple[str | None, str]:
    """A directory (a saved deployment or a model repository), else a server's [grpc://|http://]HOST:PORT."""
    if Path(text).is_dir():
        return Path(text)
    if "://" in text or re.fullmatch(r"[\w.-]+:\d+", text.strip()):
        return _urls([text])[0]
    raise ValueError(
        "no such directory, and not a server's [grpc://|http://]HOST:PORT; give the directory an earlier run saved "
        "with --triton-save-deployment, a Triton model repository, or the address of the server to compare with"
    )


def _model_names(items: list[str]) -> dict[str, str]:
    """CANDIDATE=BASELINE pairs of model names."""
    names = {}
    for item in _names(items):
        candidate, sep, baseline = (part.strip() for part in item.partition("="))
        if not (sep and candidate and baseline):
            raise BadValue("expected CANDIDATE=BASELINE, e.g. bert-tiny=bert_prod", where=f"={item}")
        names[candidate] = baseline
    return names


def _new_directory(text: str) -> Path:
    if Path(text).exists() and not Path(text).is_dir():
        raise ValueError("it is a file; give a directory (made if missing)")
    return Path(text)


def _hardware_name(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", text.strip()):
        raise ValueError("use lower-case letters, digits, '.', '_' and '-', e.g. gpu-h100-80gb")
    return text.strip()


def _input_shapes(items: list[str]) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for item in items:
        name, sep, dims = item.partition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            shape = ()
        if not sep or not name.strip() or not shape or any(d < 1 for d in shape):
            raise BadValue(
                "expected [MODEL/]INPUT=SIZExSIZE..., e.g. input_ids=128 or my-model/image=3x224x224",
                where=f"={item!r}",
            )
        shapes[name.strip()] = shape
    return shapes


def _gpus(text: str) -> tuple[int, ...]:
    try:
        gpus = tuple(int(g) for g in text.split(","))
    except ValueError:
        raise ValueError("expected a GPU index or a comma list, e.g. 0 or 0,1") from None
    if any(g < 0 for g in gpus):
        raise ValueError("GPU indices are 0 or more")
    return gpus


def _headers(items: list[str]) -> dict[str, str]:
    headers = {}
    # Errors name the item by position, never by content: a misplaced '=' can put a token in the key.
    for number, item in enumerate(items, start=1):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadValue("expected KEY=VALUE (its text is not shown)", where=f" #{number}")
        key = key.strip().lower()  # gRPC metadata keys must be lower case; HTTP names ignore case
        if not re.fullmatch(r"[a-z0-9._-]+", key):
            raise BadValue(
                "the name before '=' may hold only letters, digits, '-', '_' and '.' (its text is not shown)",
                where=f" #{number}",
            )
        headers[key] = value
    return headers


def _tolerances(items: list[str]) -> object:
    from pytest_triton.checks.tolerance import parse_tolerances

    return parse_tolerances(items)


def _on_off(items: list[str]) -> tuple[bool, ...]:
    words = _names(items)
    if not words or any(w not in ("off", "on") for w in words):
        raise BadValue(f"{','.join(items)!r}: use off, on or off,on", where="")
    return tuple(w == "on" for w in dict.fromkeys(words))


def _concurrency(items: list[str]) -> tuple[object, ...]:
    from pytest_triton.perf.load import concurrency_range

    return tuple(dict.fromkeys(point for part in _names(items) for point in concurrency_range(part)))


def _request_rates(items: list[str]) -> tuple[object, ...]:
    """Rates with constant arrivals; read_options gives them those of --triton-perf-arrivals."""
    from pytest_triton.perf.load import request_rate_range

    return tuple(dict.fromkeys(point for part in _names(items) for point in request_rate_range(part)))


def _limits(items: list[str]) -> tuple[object, ...]:
    """Each value its own list: a CONFIG: scope holds for the limits after it in the same value."""
    from pytest_triton.perf.limits import parse_limits

    return tuple(limit for item in items for limit in parse_limits(item))


def _objective(text: str) -> object:
    from pytest_triton.search.objective import parse_objective

    return parse_objective(text)


def _delays(items: list[str]) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in _names(items))
    except ValueError:
        raise BadValue(f"{','.join(items)!r} is not a comma list of microseconds, e.g. 0,100,500", where="") from None
    if not values or any(v < 0 for v in values):
        raise BadValue("give one or more delays of 0 µs or more, e.g. 0,100,500", where="")
    return tuple(sorted(set(values)))


OPTIONS = (
    Option(
        "triton-suites",
        "run the conformance suites shipped in the package, with this project's conftest.py and ini keys, in place "
        "of the default test paths (beside any paths given)",
        is_switch=True,
    ),
    Option("triton-launch-mode", f"how to get a server: {' | '.join(LAUNCH_MODES)}", one_of(LAUNCH_MODES), "local"),
    Option(
        "triton-server", "tritonserver binary for local mode; without it, the one in the nvidia-pytriton wheel", _path
    ),
    Option(
        "triton-stub-python",
        "the python the bundled server's python models run with, in its environment; without it, pytest's. Its numpy "
        "must be below 2: the wheel's stub returns wrong shapes under numpy 2",
        _path,
    ),
    Option("triton-image", "Triton image for docker mode", default=DEFAULT_IMAGE),
    Option(
        "triton-url",
        "[grpc://|http://]HOST:PORT of a server that already runs (implies --triton-launch-mode=remote); a host's "
        "gRPC and HTTP address are one server, other addresses a fleet (with -n N --dist each); @FILE: one a line",
        _urls,
        multiple=True,
    ),
    Option(
        "triton-model-repository",
        "an existing model repository to serve (local and docker mode) and check: all its models, or --triton-models",
        _path,
    ),
    Option(
        "triton-input-shape",
        "[MODEL/]INPUT=SIZExSIZE...: sizes of a served model's variable dims, without the batch dim "
        "(others: 8); repeatable",
        _input_shapes,
        multiple=True,
    ),
    Option(
        "triton-hardware",
        "the remote server's hardware, as its perf baselines' key (e.g. gpu-h100-80gb); without it, remote-HOST",
        _hardware_name,
    ),
    Option(
        "triton-metrics-port",
        "the port of a remote server's metrics endpoint on its host (Triton's default is 8002): GPU memory, power "
        "and utilization for the perf suite; local and docker servers' are known",
        _port,
    ),
    Option("triton-protocol", f"protocol of --triton-url: {' | '.join(PROTOCOLS)}", one_of(PROTOCOLS), "grpc"),
    Option("triton-ssl", "use TLS towards --triton-url", is_switch=True),
    Option("triton-root-certs", "CA bundle for --triton-ssl"),
    Option(
        "triton-header",
        "KEY=VALUE request header sent with every request (auth tokens); repeatable",
        _headers,
        multiple=True,
    ),
    Option("triton-gpu", "GPU index or comma list: serve and compute references there; without it, the CPU", _gpus),
    Option(
        "triton-models",
        f"comma list of models to check; without it, the zoo's {','.join(DEFAULT_MODELS)} and your conftest's models "
        "(every served model with --triton-url or --triton-model-repository)",
        _unique,
        multiple=True,
    ),
    Option(
        "triton-formats",
        f"comma list of export formats of {', '.join(FORMATS)} (default: onnx on the CPU, all with --triton-gpu)",
        lambda items: check_names(_unique(items), FORMATS),  # none given: the device's default (Settings)
        multiple=True,
    ),
    Option(
        "triton-precisions",
        "comma list of precisions: fp32, fp16, bf16 (computed in bfloat16 inside, float32 in and out)",
        choices(PRECISIONS),
        ",".join(DEFAULT_PRECISIONS),
        multiple=True,
    ),
    Option(
        "triton-checkpoint",
        "[MODEL=]PATH: real weights (state dict, or a Hugging Face dir for BERT and its encoder, a served "
        "FasterTransformer encoder's too); repeatable",
        multiple=True,
    ),
    Option(
        "triton-tolerance",
        "PRECISION[/OUTPUT]:atol=X[,rtol=Y][,mean_abs=Z] parity tolerance override; repeatable",
        _tolerances,
        multiple=True,
    ),
    Option(
        "triton-save-golden",
        "write each model's parity inputs, reference outputs and tolerances into this directory (golden outputs)",
        _path,
    ),
    Option(
        "triton-golden",
        "check served outputs against the golden outputs in this directory instead of a PyTorch reference",
        _path,
    ),
    Option("triton-start-timeout", "seconds to wait for the server to be ready", positive(float), "120"),
    Option(
        "triton-stream-timeout",
        "seconds a gRPC stream may go without a response before a decoupled model counts as stalled",
        positive(float),
        f"{STREAM_TIMEOUT_S:g}",
    ),
    Option("triton-cache-dir", "where exports are cached; without it, pytest's cache dir", _path),
    # Performance and baselines.
    Option(
        "update-baselines", "record this run's figures as the new baselines (review the diff in git)", is_switch=True
    ),
    Option("triton-baselines-dir", "where baselines are stored; without it, baselines/ in the rootdir", _path),
    Option("triton-strict-baselines", "a missing baseline fails (for CI) instead of being reported", is_switch=True),
    Option("triton-report", "write report.json, summary.md and PNG plots into this directory", _path),
    Option(
        "triton-history",
        "keep each run's report here as <time>-<hardware>.json (python -m pytest_triton.report.compare reads them)",
        _path,
    ),
    Option("triton-perf-formats", "formats the perf suite measures", choices(FORMATS), "onnx", multiple=True),
    Option("triton-perf-precisions", "precisions the perf suite measures", choices(PRECISIONS), "fp32", multiple=True),
    Option("triton-perf-batch-sizes", "batch sizes per request", positive_ints, "1", multiple=True),
    Option(
        "triton-perf-concurrency",
        "concurrency levels, perf_analyzer's start:end:step or a comma list",
        _concurrency,
        "1",
        multiple=True,
    ),
    Option(
        "triton-perf-request-rate",
        "request rates to measure too, start:end:step or a comma list",
        _request_rates,
        multiple=True,
    ),
    Option(
        "triton-perf-arrivals",
        "arrivals for request-rate mode: constant | poisson",
        one_of(("constant", "poisson")),
        "constant",
    ),
    Option("triton-perf-batching", "dynamic batching: off, on or off,on", _on_off, "on", multiple=True),
    Option("triton-perf-instances", "model instance counts", positive_ints, "1", multiple=True),
    Option(
        "triton-perf-warmup",
        "model_warmup in the generated configs (a request of zeros per instance at load): off, on or off,on",
        _on_off,
        "off",
        multiple=True,
    ),
    Option(
        "triton-perf-cuda-graphs",
        "CUDA graphs captured at load for TensorRT plans on a GPU (the TensorRT backend's optimization.cuda.graphs): "
        "off, on or off,on",
        _on_off,
        "off",
        multiple=True,
    ),
    Option("triton-perf-window", "seconds per measurement window", positive(float), "1.0"),
    Option(
        "triton-perf-input-data",
        "[MODEL=]FILE: requests from a perf_analyzer input data JSON file, its entries in rotation (without MODEL=, "
        "for every model); repeatable. Without it: SQuAD-shaped requests for QA models, the sample rows otherwise",
        _input_data,
        multiple=True,
    ),
    Option(
        "triton-slo",
        "limits every perf measurement must keep, no baseline needed: [CONFIG:]NAME<=VALUE,... with NAME one of "
        "throughput (/s), avg, p50, p90, p95, p99, server_cpu (us, ms, s), server_memory, model_memory, gpu_memory "
        "(B, KB, MB, GB, KiB, MiB, GiB), gpu_power (W, kW); a CONFIG: scope holds for the limits after it in the "
        "same value, e.g. bert-tiny:p99<=20ms,throughput>=100/s",
        _limits,
        multiple=True,
    ),
    Option(
        "triton-perf-stability", "stable when the last 3 windows agree within this many percent", positive(float), "10"
    ),
    Option(
        "triton-perf-max-steal",
        "a window in which a hypervisor gave more than this percent of the CPU to other guests never counts as stable",
        positive(float),
        "10",
    ),
    Option(
        "triton-perf-percentile",
        "judge stability on this latency percentile instead of the average: 50 | 90 | 95 | 99",
        lambda text: int(one_of(("50", "90", "95", "99"))(text)),
    ),
    Option(
        "triton-perf-min-requests",
        "a window lasts until it holds this many requests (at most 10 window lengths)",
        positive(int),
    ),
    Option(
        "triton-perf-reference",
        "also measure each closed-loop load point in N (at least 2) pairs of 0.25 s slices alternating with a fixed "
        "reference served beside it, and gate the ratio of the two throughputs, which a shared machine's load moves "
        "far less (about 0.5 s a pair for a model faster than a slice; 30 on a shared CI machine)",
        _slice_pairs,
    ),
    Option(
        "triton-perf-sequence-length",
        "a sequence model's requests are sent in sequences of this many steps (perf_analyzer's --sequence-length)",
        positive(int),
        "20",
    ),
    Option(
        "triton-perf-in-process",
        "also time each configuration's exported model in the pytest process, on the server's device, at the point's "
        "batch size, and report the served throughput beside it (and model FLOP utilisation on a known GPU)",
        is_switch=True,
    ),
    Option(
        "triton-perf-against",
        "DIR|URL: measure each closed-loop load point side by side with the same model of a baseline deployment "
        "(a directory --triton-save-deployment wrote, a Triton model repository, or a server's [grpc://|http://]"
        "HOST:PORT) in alternating slices, and gate the ratios of throughput, p50 and p99 latency; its answers, and "
        "the accuracy suite's EM/F1 and top-1/top-5 on the same data, too",
        _against,
    ),
    Option(
        "triton-perf-against-model",
        "CANDIDATE=BASELINE: the baseline's model for a model (or one served model) of this run, where the names "
        "differ; repeatable",
        _model_names,
        multiple=True,
    ),
    Option(
        "triton-perf-against-budget",
        "seconds of side-by-side measurement a load point may take while a ratio is inconclusive (twice that where a "
        "regression is measured again to confirm it)",
        positive(float),
        "20",
    ),
    Option(
        "triton-save-deployment",
        "save the model repository this run deploys (configs, artifacts, runner code) and a manifest into this "
        "directory, to measure a later run against (--triton-perf-against)",
        _new_directory,
    ),
    Option(
        "triton-perf-engine",
        "asyncio (built in) | perf_analyzer (needs it on PATH)",
        one_of(("asyncio", "perf_analyzer")),
        "asyncio",
    ),
    # Accuracy.
    Option(
        "squad-file",
        "a SQuAD v1.1 or v2.0 JSON file to evaluate; without it, held-out synthetic sets",
        _existing("file", "a SQuAD v1.1 or v2.0 JSON file"),
    ),
    Option(
        "triton-image-folder",
        "an ImageNet-style folder (CLASS/IMAGE.jpg) classifiers' top-1 is evaluated on; without it, held-out "
        "synthetic images",
        _existing("directory", "an ImageNet-style folder, CLASS/IMAGE.jpg"),
    ),
    Option(
        "triton-image-classes",
        "the classifier's class names in output order, one per line (the first word counts: ImageNet's "
        "LOC_synset_mapping.txt works); without it, the image folder's class folders, sorted",
        _existing("file", "a text file with one class name per line"),
    ),
    Option(
        "squad-max-seq-length",
        "feature length; without it, 384 or the model's position count if smaller",
        positive(int),
    ),
    Option("squad-doc-stride", "window stride over long contexts; without it, 128 at length 384", positive(int)),
    Option("squad-max-query-length", "question tokens kept; without it, 64 at length 384", positive(int)),
    Option(
        "triton-accuracy-tolerance",
        "fp16 and bf16 EM/F1 and top-1/top-5 tolerance against in-process fp32, in points (the config search's too)",
        positive(float),
        "1.0",
    ),
    # Config search.
    Option(
        "triton-search",
        "find each model's best serving configuration: off | quick (hill climbing) | brute (the whole grid)",
        one_of(("off", *SEARCH_MODES)),
        "off",
    ),
    Option(
        "triton-search-objective",
        "what the search maximises: throughput | avg | p50 | p90 | p95 | p99 | memory, or weights NAME=W,...",
        _objective,
        "throughput",
    ),
    Option(
        "triton-search-constraints",
        "what a recommended configuration keeps, as --triton-slo: e.g. p99<=20ms,throughput>=100/s,"
        "server_memory<=2GiB; a latency limit also ends each concurrency sweep",
        _limits,
        multiple=True,
    ),
    Option(
        "triton-search-max-batch-size",
        "max_batch_size values: powers of two up to this; without it, up to the export's",
        positive(int),
    ),
    Option("triton-search-max-instances", "instance counts from 1 to this", positive(int), "2"),
    Option("triton-search-queue-delays", "dynamic batcher queue delays to try, in µs", _delays, "100", multiple=True),
    Option("triton-search-max-concurrency", "the concurrency sweep's bound", positive(int), "16"),
    Option(
        "triton-search-budget",
        "seconds a model's search may take: no configuration starts after that",
        positive(float),
        "260",
    ),
    Option("triton-search-top", "configurations written into the output model repository", positive(int), "3"),
    Option(
        "triton-search-dir",
        "where searches keep checkpoints, reports and repositories; without it, triton-search/ in the rootdir",
        _path,
    ),
)


def read_options(get: Callable[[str], object], known_models: tuple[str, ...]) -> dict[str, Any]:
    """Every option's checked value by dest, from `get(dest)` (the plugin: command line, else ini), with the rules
    that join options: a URL means remote mode, models and checkpoints name known models. A bad value raises
    TritonPluginError naming the option and what to do."""
    values: dict[str, Any] = {option.dest: option.read(get(option.dest)) for option in OPTIONS}
    protocol = values["triton_protocol"]
    remotes = group_addresses([(scheme or protocol, url) for scheme, url in values["triton_url"] or []])
    values["triton_url"] = remotes
    if remotes and protocol not in remotes[0].protocols:  # an address says its protocol: measure over it
        values["triton_protocol"] = remotes[0].protocols[0]
    if values["triton_url"] and values["triton_launch_mode"] == "local":
        values["triton_launch_mode"] = "remote"
    if values["triton_launch_mode"] == "remote" and not values["triton_url"]:
        raise TritonPluginError("--triton-launch-mode=remote needs --triton-url=HOST:PORT")
    if values["triton_hardware"] and values["triton_launch_mode"] != "remote":
        raise TritonPluginError(
            "--triton-hardware names a remote server's hardware; a local or docker server's is read from this machine"
        )
    if values["triton_metrics_port"] and values["triton_launch_mode"] != "remote":
        raise TritonPluginError(
            "--triton-metrics-port names a remote server's metrics port; a local or docker server's is known"
        )
    if values["triton_model_repository"]:
        if values["triton_launch_mode"] == "remote":
            raise TritonPluginError(
                "--triton-model-repository: a remote server serves its own repository; give the repository or "
                "--triton-url, not both"
            )
        from pytest_triton.repository.existing import repository_models

        known_models = repository_models(values["triton_model_repository"])
    if values["triton_golden"] and values["triton_save_golden"]:
        raise TritonPluginError(
            "--triton-golden and --triton-save-golden: a run either checks against golden outputs or saves them"
        )
    saving = values["triton_save_golden"]
    if saving and saving.exists() and not saving.is_dir():
        raise TritonPluginError(f"--triton-save-golden={saving}: it is a file; give a directory (made if missing)")
    if values["triton_golden"] and not values["triton_golden"].is_dir():
        raise TritonPluginError(
            f"--triton-golden={values['triton_golden']}: no such directory; save golden outputs there first with "
            "--triton-save-golden"
        )
    # A remote server's model names are known once it answers: the variants check them against what it serves.
    if values["triton_launch_mode"] != "remote":
        try:
            check_names(values["triton_models"] or (), known_models)
        except BadValue as error:
            raise TritonPluginError(f"--triton-models: {error}") from None
    values["triton_models"] = values["triton_models"] or ()
    # A remote server's models are known once it answers: a checkpoint may name one (a FasterTransformer encoder).
    remote = values["triton_launch_mode"] == "remote"
    values["triton_checkpoint"] = _checkpoints(
        values["triton_checkpoint"] or [], values["triton_models"], None if remote else known_models
    )
    # The perf suite measures what the run deploys: a precision asked of it alone would measure nothing, silently.
    missing = [p for p in values["triton_perf_precisions"] if p not in values["triton_precisions"]]
    if get("triton_perf_precisions") and missing and values["triton_launch_mode"] != "remote":
        raise TritonPluginError(
            f"--triton-perf-precisions: the run does not deploy {', '.join(missing)} (--triton-precisions="
            f"{','.join(values['triton_precisions'])}); add it there, or measure a precision the run deploys"
        )
    values["triton_perf_against"] = _baseline_source(values)
    if values["triton_perf_request_rate"]:
        import dataclasses

        arrivals = values["triton_perf_arrivals"]
        values["triton_perf_request_rate"] = tuple(
            dataclasses.replace(rate, arrivals=arrivals) for rate in values["triton_perf_request_rate"]
        )
    return values


def _baseline_source(values: dict[str, Any]) -> Any:
    """The baseline deployment the options name, or None."""
    given, names = values["triton_perf_against"], values["triton_perf_against_model"] or {}
    if given is None:
        if names:
            raise TritonPluginError("--triton-perf-against-model maps names to a baseline: give --triton-perf-against")
        return None
    from pytest_triton.repository.baseline_source import BaselineSource

    if isinstance(given, Path):
        return BaselineSource(directory=given, names=names)
    scheme, address = given
    return BaselineSource(address=group_addresses([(scheme or values["triton_protocol"], address)])[0], names=names)


def _checkpoints(items: list[str], models: tuple[str, ...], known: tuple[str, ...] | None) -> dict[str, Path]:
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
        if known is not None and model not in known:
            raise TritonPluginError(f"--triton-checkpoint: unknown model {model!r}; valid: {', '.join(known)}")
        if not Path(path).exists():
            raise TritonPluginError(f"--triton-checkpoint for {model}: {path} does not exist")
        checkpoints[model] = Path(path)
    return checkpoints
