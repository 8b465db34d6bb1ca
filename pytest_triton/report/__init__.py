"""Reports of a performance run: a terminal table, and a directory with JSON, Markdown and PNG plots."""

from pytest_triton.report.summary import summary_lines
from pytest_triton.report.writer import ReportFiles, write_report

__all__ = ["ReportFiles", "summary_lines", "write_report"]
