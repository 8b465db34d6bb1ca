"""Reports of a performance run: a terminal table (report.summary), and a directory with JSON, Markdown and PNG plots
(report.writer). The package imports nothing itself: the plots need matplotlib, only where a report is written."""
