"""Writing a file or a directory so that readers (other xdist workers, a process killed midway) see the old or the new,
never half."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8) as write_bytes_atomic does."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` beside `path` and rename it into place: same directory, so os.replace is atomic; fsync
    first, so a crash leaves old or new. The temporary file is removed if anything fails."""
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


@contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """A new directory beside `final` to fill, renamed to `final` (over an empty directory too) when the block ends
    without an error, removed when it raises or is interrupted. Where another writer put a `final` in place first,
    theirs is kept. Its name starts `.<final's name>-`, so a writer killed midway leaves a leftover one can find."""
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        yield staging
        try:
            staging.rename(final)
        except OSError as error:
            # Only "a full `final` is already there": any other failure (a mount point, a symlink) must not pass.
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not final.is_dir() or not any(final.iterdir()):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
