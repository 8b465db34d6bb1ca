"""The side-by-side section of the terminal summary, the Markdown page and report.json (report.against)."""

from __future__ import annotations

import json

from pytest_triton.perf.side_by_side_verdict import AgainstPoint, Outcome, Ratio, SideBySide
from pytest_triton.report.against import AgainstRecord, against_lines, against_markdown, log_against, read_against
from pytest_triton.report.writer import write_report
from pytest_triton.results_log import ResultsLog


def _record(config: str, throughput: float, outcome: Outcome, rounds: int = 1) -> AgainstRecord:
    ratios = (
        Ratio("throughput", 100 * throughput, 100.0, throughput, throughput - 0.01, throughput + 0.01, 0.03, outcome),
        Ratio(
            "p50", 10 / throughput, 10.0, 1 / throughput, 1 / throughput - 0.01, 1 / throughput + 0.01, 0.03, outcome
        ),
        Ratio("p99", 20.0, 20.0, 1.0, 0.9, 1.1, 0.1, Outcome.SAME),
    )
    verdict = SideBySide(config, ratios, 16 * rounds, rounds, 9.5 * rounds, False)
    return AgainstRecord(config, "saved", AgainstPoint(verdict, (99.0, 101.0), (100.0, 100.0)))


RECORDS = [_record("m-onnx-fp32/c1", 1.0, Outcome.SAME), _record("m-onnx-fp32/c4", 0.9, Outcome.REGRESSED, 2)]


def test_a_row_per_point_and_figure_regressions_first(tmp_path):
    log = ResultsLog(tmp_path, "main")
    log_against(log, RECORDS)
    back = read_against(log)
    assert back == RECORDS
    lines = against_lines(back)
    assert lines[0] == "triton perf against saved: 2 load points: 1 regressed, 1 same; 1 measured in further rounds"
    assert lines[1].split() == ["config", "figure", "baseline", "candidate", "ratio", "[99%", "interval]", "verdict"]
    assert lines[3].split()[:2] == ["m-onnx-fp32/c4", "throughput"] and lines[3].endswith("REGRESSED")
    assert "90 infer/s" in lines[3] and "0.900x [0.890, 0.910]" in lines[3]
    assert lines[6].startswith("m-onnx-fp32/c1") and lines[6].endswith("same")


def test_the_report_carries_the_section_the_records_and_the_plot(tmp_path):
    written = write_report(tmp_path, {}, [], against=RECORDS)
    assert (tmp_path / "side_by_side.png") in written.plots
    document = json.loads(written.json.read_text())
    assert [AgainstRecord.from_dict(r) for r in document["against"]] == RECORDS
    markdown = written.markdown.read_text()
    assert "## triton perf against saved" in markdown
    assert "| m-onnx-fp32/c4 | throughput | 100 infer/s | 90 infer/s | 0.900x [0.890, 0.910] | REGRESSED |" in markdown
    assert against_markdown([]) == []
