"""How much of a parity tolerance each served variant of the zoo's models needs, to set the defaults from.

    .venv/bin/python benchmarks/parity_tolerances.py [--models bert-tiny resnext-small] [--gpu N]

Serves every format and precision of each model that this machine runs (a real tritonserver, as the parity suite
does) and compares the suite's own sample cases with the eager fp32 reference. Per variant, sample case and output
it prints max abs diff and mean abs diff over the compared elements, the largest |ref| there, and `a`: the
smallest tolerance of the form atol = rtol = a that passes (|served - ref| <= a + a * |ref|), plus the largest
difference at masked (padded) positions. A default is the worst `a` of a precision times a margin.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import numpy as np

from pytest_triton.baselines.hardware import hardware_key
from pytest_triton.checks.payload import parity_diffs, reference_cases, spec_tolerances
from pytest_triton.checks.tolerance import Tolerances
from pytest_triton.errors import Unsupported
from pytest_triton.kinds import FORMATS, PRECISIONS
from pytest_triton.models.spec import Tolerance
from pytest_triton.models.zoo import DEFAULT_MODELS, zoo_spec
from pytest_triton.session import TritonSession
from pytest_triton.settings import Settings

# atol = rtol = 1: bound_used is then max(|d| / (1 + |ref|)), the smallest `a` of that form that passes.
_UNIT = Tolerance(1.0, 1.0, np.inf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--gpu", type=int, default=None, help="serve and compute references on this GPU")
    args = parser.parse_args()

    gpus = () if args.gpu is None else (args.gpu,)
    settings = Settings(gpus=gpus, formats=FORMATS)  # every format, not the CPU default
    print(f"hardware {hardware_key(gpus)} ({platform.processor() or platform.machine()})")
    with tempfile.TemporaryDirectory(prefix="parity-tolerances-") as work:
        session = TritonSession(settings, work_dir=Path(work), cache_dir=Path(work) / "exports")
        try:
            session.start()
            worst = _measure(session, settings, args.models)
        finally:
            session.close()
    for precision, value in sorted(worst.items()):
        print(f"{precision}: worst a = {value:.3g} (atol = rtol = a passes every case)")


def _measure(session: TritonSession, settings: Settings, models: list[str]) -> dict[str, float]:
    """Print a row per variant, sample case and output; return the worst `a` per precision."""
    worst: dict[str, float] = {}
    unit = Tolerances({p: _UNIT for p in PRECISIONS})
    print(f"{'variant':<28} {'case':<16} {'output':<13} {'max_abs':>9} {'mean_abs':>9} {'max|ref|':>8} "
          f"{'a':>9} {'masked max_abs':>14}")  # fmt: skip
    for name in models:
        spec = zoo_spec(name)
        module = session.reference(spec)
        for fmt in FORMATS:
            for precision in PRECISIONS:
                try:
                    deployment = session.deployment(spec, fmt, precision)
                except Unsupported as reason:
                    print(f"{spec.name}-{fmt}-{precision}: skipped, {str(reason).splitlines()[0][:90]}")
                    continue
                expected = reference_cases(module, spec, settings.device).expected
                result = parity_diffs(session.client, deployment, expected, spec_tolerances(deployment, unit))
                for label, diff in result.diffs:
                    masked = f"{diff.masked_max_abs:.3g}" if diff.masked_max_abs is not None else "-"
                    print(
                        f"{deployment.model_name:<28} {label:<16} {diff.output:<13} {diff.max_abs:>9.3g} "
                        f"{diff.mean_abs:>9.3g} {diff.max_ref:>8.3g} {diff.bound_used:>9.3g} {masked:>14}"
                    )
                    worst[precision] = max(worst.get(precision, 0.0), diff.bound_used)
    return worst


if __name__ == "__main__":
    main()
