"""The end of a run: comparisons and measurements gathered from every process, summarised and reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from pytest_triton.baselines import BaselineKey, BaselineStore, Comparison, software_versions
from pytest_triton.baselines.context import BaselineContext
from pytest_triton.baselines.hardware import HardwareFacts, hardware_facts
from pytest_triton.baselines.migrate import COMMAND as MIGRATE_COMMAND
from pytest_triton.baselines.migrate import legacy_scope_for
from pytest_triton.perf.results import Measurement
from pytest_triton.report.summary import summary_lines
from pytest_triton.results_log import ResultsLog

if TYPE_CHECKING:
    from pytest_triton.session import TritonSession

PERF = "perf"
ACCURACY = "accuracy"


@dataclass
class BaselinesForRun:
    """Baseline contexts of one run: perf is keyed by hardware, accuracy by nothing but the model."""

    root: Path
    session: TritonSession
    update: bool
    strict: bool
    _contexts: dict[str, BaselineContext] = field(default_factory=dict, repr=False)

    def context(self, suite: str) -> BaselineContext:
        if suite not in self._contexts:
            gpus = self.session.settings.gpus
            hardware = hardware_facts(gpus) if suite == PERF else None
            facts = self.session.facts
            self._contexts[suite] = BaselineContext(
                store=BaselineStore(self.root),
                key=BaselineKey(hardware.key() if hardware else ACCURACY, suite),
                software=software_versions(
                    {"version": facts.version} if facts else None,
                    ",".join(facts.backends) if facts else None,
                    gpus,
                ),
                hardware=hardware.to_json() if hardware else None,
                update=self.update,
                strict=self.strict,
            )
        return self._contexts[suite]


def log_outcome(
    log: ResultsLog,
    suite: str,
    config: str,
    measurements: list[Measurement],
    comparisons: list[Comparison],
    recorded: Sequence[str] = (),
    baseline_file: Path | None = None,
) -> None:
    """One test's results, for the summary; `recorded`: configs written into `baseline_file` by an update."""
    log.append(
        suite,
        {
            "config": config,
            "measurements": [m.to_dict() for m in measurements],
            "comparisons": [c.to_dict() for c in comparisons],
            "recorded": list(recorded),
            "baseline_file": _shown_path(baseline_file) if recorded and baseline_file else None,
        },
    )


def _shown_path(path: Path) -> str:
    """Relative to the working directory where it lies below it (baselines/... in a checkout), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def legacy_baselines_note(root: Path, facts: HardwareFacts, gpus: Sequence[int]) -> list[str]:
    """A line where this machine's perf baselines lie only under the old hardware key, which is not applied."""
    old = legacy_scope_for(root, facts)
    if old is None or (root / facts.key()).exists():
        return []
    flag = f" --triton-gpu={','.join(map(str, gpus))}" if gpus else ""
    return [
        f"triton perf baselines: {_shown_path(old)} is filed under the old hardware key, which does not tell CPU "
        f"generations apart, so it is not applied here ({facts.key()}); on the machine that recorded it, run "
        f"`{MIGRATE_COMMAND} {_shown_path(root)}{flag}`, or record this machine's with --update-baselines"
    ]


def finish(
    log: ResultsLog, report_dir: Path | None, metadata: dict[str, str], perf_notes: Sequence[str] = ()
) -> list[str]:
    """Terminal lines for every suite that left results (`perf_notes` after the perf table), and the report
    directory when asked for."""
    lines: list[str] = []
    measurements: dict[str, list[Measurement]] = {}
    everything: list[Comparison] = []
    for suite in (PERF, ACCURACY):
        records = list(log.read(suite))
        comparisons = [Comparison.from_dict(c) for record in records for c in record["comparisons"]]
        for record in records:
            if record["measurements"]:
                measurements[record["config"]] = [Measurement.from_dict(m) for m in record["measurements"]]
        recorded = [config for record in records for config in record.get("recorded", ())]
        baseline_files = sorted({record["baseline_file"] for record in records if record.get("baseline_file")})
        if records:
            lines += summary_lines(
                comparisons, title=f"triton {suite} baselines", recorded=len(recorded), files=baseline_files
            )
            lines += perf_notes if suite == PERF else []
        everything += comparisons
    if report_dir is not None and (measurements or everything):
        from pytest_triton.report.writer import write_report  # matplotlib, only where a report is asked for

        files = write_report(report_dir, measurements, everything, metadata=metadata)
        lines.append(f"triton report: {files.markdown} ({len(files.plots)} plots)")
    return lines
