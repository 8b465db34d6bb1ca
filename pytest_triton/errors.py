"""Errors that carry a message meant for the user: what went wrong and what to do about it."""

from __future__ import annotations


class TritonPluginError(Exception):
    """A problem the user can fix; the message names it and says what to do."""


class ServerStartError(TritonPluginError):
    """The Triton server could not be started or reached."""


class ModelLoadError(TritonPluginError):
    """The server refused to load a model; carries the server's own error text."""


class ExportError(TritonPluginError):
    """Exporting a model failed; carries the exporter's own message."""


class CheckFailed(TritonPluginError):
    """A check found the deployment wrong in a way that leaves nothing to compare; the message says what."""


class Unsupported(Exception):
    """A variant (format, precision, device) that cannot run here; the message is the skip reason."""
