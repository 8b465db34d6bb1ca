"""Exporters, one per artifact format, and the content-hash cache they write into."""
