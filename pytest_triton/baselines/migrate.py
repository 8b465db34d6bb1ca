"""Re-files baselines recorded under the old hardware key under this machine's key, with its hardware recorded.

    python -m pytest_triton.baselines.migrate [BASELINES_DIR] [--triton-gpu=0,1] [--dry-run]

The old key (model name and cores) could be shared by two CPU generations (issue 8), so only the machine that
recorded a directory can say which generation it was: each machine migrates its own, and lists the other old
directories, to be migrated on the machines that recorded them."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_triton.atomic_write import write_text_atomic
from pytest_triton.baselines.hardware import HardwareFacts, hardware_facts, is_current_key, legacy_key
from pytest_triton.baselines.schema import parse, validate
from pytest_triton.baselines.store import dumps
from pytest_triton.errors import TritonPluginError

COMMAND = "python -m pytest_triton.baselines.migrate"


class MigrationError(TritonPluginError):
    """A migration that would overwrite baselines; nothing was changed."""


@dataclass(frozen=True)
class Migration:
    """What migrate() did, or would do on a dry run."""

    refiled: tuple[Path, Path] | None  # this machine's old directory and its new place
    foreign: tuple[Path, ...]  # old directories of other machines, left where they are
    dry_run: bool

    def lines(self) -> list[str]:
        lines: list[str] = []
        if self.refiled:
            old, new = self.refiled
            done = "would re-file" if self.dry_run else "re-filed"
            # The old key cannot tell: another CPU generation with the same model name would claim them too.
            lines.append(
                f"{done} {old} under {new}, with this machine's hardware (right if this machine recorded them)"
            )
        lines += [
            f"{path}: recorded under the old key on another machine: run `{COMMAND}` there" for path in self.foreign
        ]
        return lines or ["nothing to migrate"]


def legacy_scopes(root: Path, facts: HardwareFacts) -> list[Path]:
    """Directories of `root` with hardware baselines under the old key: a 'cpu-'/'gpu-' name of the old form
    whose files record no hardware. This machine's current key is not one, even where it reads as the old did."""
    return sorted(path for path in root.iterdir() if _is_legacy(path, facts)) if root.is_dir() else []


def legacy_scope_for(root: Path, facts: HardwareFacts) -> Path | None:
    """The directory this machine's baselines were filed under with the old key, where there is one: they are not
    applied (that key does not tell CPU generations apart) until migrated."""
    path = root / legacy_key(facts)
    return path if _is_legacy(path, facts) else None


def migrate(root: Path, facts: HardwareFacts, *, dry_run: bool = False) -> Migration:
    """Rename this machine's old directory under `root` to facts.key(), its files' scope rewritten and `facts`
    recorded in them. Every file is read and validated first, so an invalid one (BaselineFileError) or an
    existing target (MigrationError) changes nothing."""
    if not root.is_dir():
        raise MigrationError(f"no baselines directory {root}: pass the one to migrate (default: baselines)")
    mine = legacy_scope_for(root, facts)
    foreign = tuple(path for path in legacy_scopes(root, facts) if path != mine)
    if mine is None:
        return Migration(None, foreign, dry_run)
    target = root / facts.key()
    if target.exists():
        raise MigrationError(
            f"cannot re-file {mine} under {target}: that exists already; "
            f"keep one of the two, then run `{COMMAND}` again"
        )
    texts = {path.name: _refiled(path, facts) for path in sorted(mine.glob("*.json"))}
    if not dry_run:
        _rename_rewritten(mine, target, texts)
    return Migration((mine, target), foreign, dry_run)


def _is_legacy(directory: Path, facts: HardwareFacts) -> bool:
    name = directory.name
    if not (name.startswith(("cpu-", "gpu-")) and directory.is_dir()) or is_current_key(name) or name == facts.key():
        return False
    files = list(directory.glob("*.json"))
    return bool(files) and not any(_records_hardware(path) for path in files)


def _records_hardware(path: Path) -> bool:
    # Lenient: a file that does not parse is judged, with the schema's error, where it is migrated.
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and "hardware" in document


def _refiled(path: Path, facts: HardwareFacts) -> str:
    """The text of baseline file `path` filed under facts.key(), with `facts` recorded; entries as they were."""
    document = parse(path.read_text(encoding="utf-8"), path)
    validate(document, path)
    document.update(scope=facts.key(), hardware=facts.to_json())
    validate(document, path, before_write=True)
    return dumps(document)


def _rename_rewritten(source: Path, target: Path, texts: Mapping[str, str]) -> None:
    """Rename `source` to `target`, with `texts` (file name -> text) written over its files. They are written in a
    copy that takes the target's name in one rename, so a failure leaves `source` as it was and no `target`."""
    staging = target.with_name(f".{target.name}.migrating")
    shutil.rmtree(staging, ignore_errors=True)  # left by an interrupted run
    try:
        shutil.copytree(source, staging)
        for name, text in texts.items():
            write_text_atomic(staging / name, text)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(source)


def _gpu_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(index) for index in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a GPU index or a comma list, e.g. 0 or 0,1, not {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "root", nargs="?", type=Path, default=Path("baselines"), metavar="BASELINES_DIR", help="default: baselines"
    )
    parser.add_argument(
        "--triton-gpu",
        type=_gpu_list,
        default=(),
        metavar="LIST",
        help="the GPUs the baselines were measured on, as given to pytest (default: the CPU)",
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would change and change nothing")
    args = parser.parse_args(argv)
    try:
        migration = migrate(args.root, hardware_facts(args.triton_gpu), dry_run=args.dry_run)
    except TritonPluginError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(migration.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
