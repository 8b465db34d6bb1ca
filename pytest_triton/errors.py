"""Errors that carry a message meant for the user: what went wrong and what to do about it."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The line of another library's error message that says what happened, for a message of ours to quote."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()] or [type(error).__name__]
    # TorchScript opens with a generic header and ends with the cause.
    line = lines[-1] if "TorchScript interpreter" in lines[0] else lines[0]
    return line.strip()[:300]


class Advised(Exception):
    """An error whose remedy is a setting: `options` names the settings by their ini names (options.py), and the
    plugin adds their command-line flags to the message. The library itself never names a flag."""

    def __init__(self, message: str, *, options: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.options = options


class TritonPluginError(Advised):
    """A problem the user can fix; the message names it and says what to do."""


class ServerStartError(TritonPluginError):
    """The Triton server could not be started or reached."""


class ModelLoadError(TritonPluginError):
    """The server refused to load a model; carries the server's own error text."""


class ExportError(TritonPluginError):
    """Exporting a model failed; carries the exporter's own message."""


class CheckFailed(TritonPluginError):
    """A check found the deployment wrong in a way that leaves nothing to compare; the message says what."""


class Unsupported(Advised):
    """A variant (format, precision, device) or a check that cannot apply here; the message is the skip reason."""


class BadValue(ValueError):
    """A value a setting cannot take, said without naming the option: the plugin prefixes the flag. `where` follows
    the flag in the message (default: `=<the value given>`); set it where the value must not be echoed (a secret)
    or where one item of several is meant."""

    def __init__(self, reason: str, where: str | None = None) -> None:
        super().__init__(reason)
        self.where = where


class SpecError(TritonPluginError):
    """A model's spec contradicts itself, its samples or its model; the message names the field to fix."""


class BaselineDeploymentError(TritonPluginError):
    """The baseline deployment a run is measured against cannot serve as one: a corrupt or partial directory, no
    model matching the candidate's, another signature, a server that does not answer, a model that fails to load."""


class BundleError(TritonPluginError):
    """The offline bundle could not be built, checked or installed; the message names the file or the step."""
