"""Every option of the plugin, declared once: `--{flag}` on the command line and `{dest}` as an ini key.

Nothing but names and help texts, so that pytest can register the options of an installed plugin without importing
anything else; settings.py and the plans turn their values into typed, checked objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_triton.kinds import FORMATS, LAUNCH_MODES, PRECISIONS, PROTOCOLS

DEFAULT_IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3"


@dataclass(frozen=True)
class Option:
    """One option: `--{flag}` on the command line and `{dest}` as ini key."""

    flag: str
    help: str
    default: str | None = None
    multiple: bool = False  # may be given several times (and as several ini lines)
    is_switch: bool = False

    @property
    def dest(self) -> str:
        return self.flag.replace("-", "_")


OPTIONS = (
    Option("triton-launch-mode", f"how to get a server: {' | '.join(LAUNCH_MODES)} (default: local)", "local"),
    Option("triton-server", "tritonserver binary for local mode (default: the one in the nvidia-pytriton wheel)"),
    Option("triton-image", f"Triton image for docker mode (default: {DEFAULT_IMAGE})"),
    Option("triton-url", "HOST:PORT of a server that already runs (implies --triton-launch-mode=remote)"),
    Option("triton-protocol", f"protocol of --triton-url: {' | '.join(PROTOCOLS)} (default: grpc)", "grpc"),
    Option("triton-ssl", "use TLS towards --triton-url", is_switch=True),
    Option("triton-root-certs", "CA bundle for --triton-ssl"),
    Option("triton-header", "KEY=VALUE request header sent with every request (auth tokens); repeatable", multiple=True),
    Option("triton-gpu", "GPU index or comma list: serve and compute references there (default: CPU only)"),
    Option("triton-models", "comma list of zoo models to check (default: bert-tiny,resnext-small)"),
    Option("triton-formats", f"comma list of formats: {','.join(FORMATS)} (default: all)"),
    Option("triton-precisions", f"comma list of precisions: {','.join(PRECISIONS)} (default: all)"),
    Option("triton-checkpoint", "[MODEL=]PATH: real weights (state dict, or a Hugging Face dir for BERT); repeatable", multiple=True),
    Option("triton-tolerance", "PRECISION[/OUTPUT]:atol=X[,rtol=Y][,mean_abs=Z] parity tolerance override; repeatable", multiple=True),
    Option("triton-start-timeout", "seconds to wait for the server to be ready (default: 120)", "120"),
    Option("triton-cache-dir", "where exports are cached (default: pytest's cache dir)"),
    # Performance and baselines.
    Option("update-baselines", "record this run's figures as the new baselines (review the diff in git)", is_switch=True),
    Option("triton-baselines-dir", "where baselines are stored (default: baselines/ in the rootdir)"),
    Option("triton-strict-baselines", "a missing baseline fails (for CI) instead of being reported", is_switch=True),
    Option("triton-report", "write report.json, summary.md and PNG plots into this directory"),
    Option("triton-perf-formats", "formats the perf suite measures (default: onnx)"),
    Option("triton-perf-precisions", "precisions the perf suite measures (default: fp32)"),
    Option("triton-perf-batch-sizes", "batch sizes per request (default: 1,8)"),
    Option("triton-perf-concurrency", "concurrency levels, perf_analyzer's start:end:step or a comma list (default: 1,4)"),
    Option("triton-perf-request-rate", "request rates to measure too, start:end:step or a comma list (default: none)"),
    Option("triton-perf-arrivals", "arrivals for request-rate mode: constant | poisson (default: constant)"),
    Option("triton-perf-batching", "dynamic batching: off, on or off,on (default: off,on)"),
    Option("triton-perf-instances", "model instance counts (default: 1,2)"),
    Option("triton-perf-window", "seconds per measurement window (default: 1.0)"),
    Option("triton-perf-stability", "stable when the last 3 windows agree within this many percent (default: 10)"),
    Option("triton-perf-engine", "asyncio (built in) | perf_analyzer (needs it on PATH) (default: asyncio)"),
    # Accuracy.
    Option("squad-file", "a SQuAD v1.1 or v2.0 JSON file to evaluate (default: held-out synthetic sets)"),
    Option("squad-max-seq-length", "feature length (default: 384, or the model's position count if smaller)"),
    Option("squad-doc-stride", "window stride over long contexts (default: 128 at length 384)"),
    Option("squad-max-query-length", "question tokens kept (default: 64 at length 384)"),
    Option("triton-accuracy-tolerance", "fp16 EM/F1 tolerance against in-process fp32, in points (default: 1.0)"),
)
