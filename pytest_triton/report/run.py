"""The end of a run: what each test logged, gathered from every process (xdist workers included), summarised for
the terminal and written as a report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from pytest_triton.baselines.context import ACCURACY, PERF, SEARCH
from pytest_triton.baselines.hardware import HardwareFacts
from pytest_triton.baselines.migrate import COMMAND as MIGRATE_COMMAND
from pytest_triton.baselines.migrate import legacy_scope_for
from pytest_triton.baselines.verdict import Comparison
from pytest_triton.perf.results import Measurement
from pytest_triton.report.against import against_lines, read_against
from pytest_triton.report.summary import summary_lines
from pytest_triton.results_log import ResultsLog


@dataclass(frozen=True)
class SuiteOutcome:
    """One test's results as the results log carries them between processes. `recorded`: configs an update wrote
    into `baseline_file`; `stack_changes`: what differs in the software stack from the stored baseline's."""

    suite: str
    config: str
    measurements: tuple[Measurement, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    recorded: tuple[str, ...] = ()
    baseline_file: Path | None = None
    stack_changes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "measurements": [m.to_dict() for m in self.measurements],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "recorded": list(self.recorded),
            "baseline_file": shown_path(self.baseline_file) if self.recorded and self.baseline_file else None,
            "stack_changes": self.stack_changes,
        }

    @staticmethod
    def from_dict(suite: str, data: Mapping[str, Any]) -> "SuiteOutcome":
        return SuiteOutcome(
            suite=suite,
            config=data["config"],
            measurements=tuple(Measurement.from_dict(m) for m in data["measurements"]),
            comparisons=tuple(Comparison.from_dict(c) for c in data["comparisons"]),
            recorded=tuple(data.get("recorded", ())),
            baseline_file=Path(data["baseline_file"]) if data.get("baseline_file") else None,
            stack_changes=data.get("stack_changes", ""),
        )


def log_outcome(log: ResultsLog, outcome: SuiteOutcome) -> None:
    log.append(outcome.suite, outcome.to_dict())


def outcomes(log: ResultsLog, suite: str) -> Iterator[SuiteOutcome]:
    for record in log.read(suite):
        yield SuiteOutcome.from_dict(suite, record)


def shown_path(path: Path) -> str:
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
        f"triton perf baselines: {shown_path(old)} is filed under the old hardware key, which does not tell CPU "
        f"generations apart, so it is not applied here ({facts.key()}); on the machine that recorded it, run "
        f"`{MIGRATE_COMMAND} {shown_path(root)}{flag}`, or record this machine's with --update-baselines"
    ]


def finish(
    log: ResultsLog,
    report_dir: Path | None,
    metadata: dict[str, str],
    perf_notes: Sequence[str] = (),
    history_dir: Path | None = None,
) -> list[str]:
    """Terminal lines for every suite that left results (`perf_notes` after the perf table), the report
    directory when asked for, and the report kept in `history_dir` (filed under metadata's hardware)."""
    lines: list[str] = []
    measurements: dict[str, list[Measurement]] = {}
    everything: list[Comparison] = []
    against = read_against(log)
    for suite in (PERF, SEARCH, ACCURACY):
        found = list(outcomes(log, suite))
        comparisons = [c for outcome in found for c in outcome.comparisons]
        for outcome in found:
            if outcome.measurements:
                measurements[outcome.config] = list(outcome.measurements)
        if found:
            recorded = sum(len(outcome.recorded) for outcome in found)
            files = sorted({str(outcome.baseline_file) for outcome in found if outcome.baseline_file})
            lines += summary_lines(comparisons, title=f"triton {suite} baselines", recorded=recorded, files=files)
            lines += [
                f"triton {suite} baselines: recorded with another software stack: {changes}"
                for changes in sorted({outcome.stack_changes for outcome in found if outcome.stack_changes})
            ]
            lines += perf_notes if suite == PERF else []
        lines += against_lines(against) if suite == PERF else []
        everything += comparisons
    if report_dir is not None and (measurements or everything):
        from pytest_triton.report.writer import write_report  # matplotlib, only where a report is asked for

        written = write_report(report_dir, measurements, everything, metadata=metadata, against=against)
        lines.append(f"triton report: {written.markdown} ({len(written.plots)} plots)")
    if history_dir is not None and (measurements or everything):
        from pytest_triton.report.document import report_document
        from pytest_triton.report.history import keep_report

        kept = keep_report(
            report_document(measurements, everything, metadata=metadata, against=[r.to_dict() for r in against]),
            history_dir,
            metadata["hardware"],
        )
        lines.append(f"triton history: kept {kept}")
    return lines
