"""Migration of baselines filed under the old hardware key (issue 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_triton.baselines import BaselineFile, BaselineFileError, BaselineKey, BaselineStore
from pytest_triton.baselines.hardware import CpuFacts, HardwareFacts, hardware_facts, hardware_key, legacy_key
from pytest_triton.baselines.migrate import MigrationError, legacy_scope_for, legacy_scopes, main, migrate
from pytest_triton.baselines.store import dumps
from pytest_triton.report.run import legacy_baselines_note

GENOA = CpuFacts("AMD EPYC Processor", "AuthenticAMD", 25, 17, "avx512", 2)
OLD, NEW = "cpu-amd-epyc-2c", "cpu-amd-epyc-f25m17-avx512-2c"
ENTRY = {"value": 812.5, "unit": "infer/s", "direction": "higher", "tolerance": 0.05, "noise": 0.012}


def document(scope: str, suite: str = "perf", **extra: object) -> dict:
    return {
        "schema_version": 1,
        "scope": scope,
        "suite": suite,
        "software": {"triton": "2.51.0", "driver": None},
        "entries": {"bert-tiny-onnx-fp32/c1": {"throughput": ENTRY}},
        **extra,
    }


def write(root: Path, scope: str, suite: str = "perf", text: str | None = None, **extra: object) -> Path:
    path = root / scope / f"{suite}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(document(scope, suite, **extra)) if text is None else text)
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A baselines directory with an accuracy scope, which migration never touches."""
    write(tmp_path, "accuracy", "accuracy")
    return tmp_path


def test_this_machines_old_directory_is_refiled_under_the_new_key(root):
    old_texts = {suite: write(root, OLD, suite).read_text() for suite in ("perf", "calibration")}
    accuracy = (root / "accuracy" / "accuracy.json").read_bytes()

    migration = migrate(root, GENOA)

    assert migration.refiled == (root / OLD, root / NEW) and migration.foreign == ()
    assert not (root / OLD).exists() and sorted(p.name for p in (root / NEW).iterdir()) == [
        "calibration.json",
        "perf.json",
    ]
    for suite, old_text in old_texts.items():
        new = json.loads((root / NEW / f"{suite}.json").read_text())
        assert new == json.loads(old_text) | {"scope": NEW, "hardware": GENOA.to_json()}
        assert dumps(new["entries"]) == dumps(json.loads(old_text)["entries"])
    assert BaselineStore(root).load(BaselineKey(NEW, "perf")).get("bert-tiny-onnx-fp32/c1", "throughput").value == 812.5
    assert (root / "accuracy" / "accuracy.json").read_bytes() == accuracy
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []  # no staging copy left


def test_another_machines_old_directory_is_left_and_reported(root):
    write(root, "cpu-intel-xeon-2c")
    write(root, "gpu-tesla-t4")
    before = tree(root)

    migration = migrate(root, GENOA)

    assert migration.refiled is None
    assert migration.foreign == (root / "cpu-intel-xeon-2c", root / "gpu-tesla-t4")
    assert f"{root / 'gpu-tesla-t4'}: recorded under the old key on another machine" in migration.lines()[1]
    assert tree(root) == before


def test_current_keys_and_files_that_record_hardware_are_not_old(root):
    write(root, "cpu-amd-epyc-f23m49-avx2-2c")  # another machine's current key, recorded before the facts were
    write(root, "gpu-nvidia-h100-80gb-hbm3")  # a GPU named with its memory: its key did not change
    write(root, "cpu-intel-xeon-2c", hardware=GENOA.to_json())
    assert legacy_scopes(root, GENOA) == []
    assert migrate(root, GENOA).lines() == ["nothing to migrate"]


def test_an_existing_target_refuses_and_changes_nothing(root):
    write(root, OLD)
    write(root, NEW, hardware=GENOA.to_json())
    before = tree(root)
    with pytest.raises(MigrationError, match=rf"cannot re-file .*{OLD} under .*{NEW}: that exists already"):
        migrate(root, GENOA)
    assert tree(root) == before


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"schema_version": 1,\n}', r"perf\.json is not valid JSON \(line 2"),
        (dumps(document(OLD) | {"schema_version": 2}), r"perf\.json does not match the baseline schema"),
    ],
)
def test_an_invalid_file_gives_the_schemas_error_and_changes_nothing(root, text, message):
    write(root, OLD, "calibration")
    write(root, OLD, text=text)
    before = tree(root)
    with pytest.raises(BaselineFileError, match=message):
        migrate(root, GENOA)
    assert tree(root) == before


def test_a_failed_write_leaves_the_old_directory_and_no_new_one(root, monkeypatch):
    write(root, OLD)
    before = tree(root)

    def fail(path: Path, text: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("pytest_triton.baselines.migrate.write_text_atomic", fail)
    with pytest.raises(OSError, match="disk full"):
        migrate(root, GENOA)
    assert tree(root) == before and sorted(p.name for p in root.iterdir()) == ["accuracy", OLD]


def test_legacy_scope_for_names_this_machines_old_directory_until_it_is_migrated(root):
    assert legacy_scope_for(root, GENOA) is None
    write(root, OLD)
    assert legacy_scope_for(root, GENOA) == root / OLD
    migrate(root, GENOA)
    assert legacy_scope_for(root, GENOA) is None


def test_the_command_migrates_this_machine_and_dry_run_changes_nothing(root, capsys):
    write(root, legacy_key(hardware_facts()))
    before = tree(root)

    assert main([str(root), "--dry-run"]) == 0
    assert "would re-file" in capsys.readouterr().out and tree(root) == before

    assert main([str(root)]) == 0
    assert "re-filed" in capsys.readouterr().out
    assert json.loads((root / hardware_key() / "perf.json").read_text())["hardware"] == hardware_facts().to_json()
    assert main([str(root / "missing")]) == 1
    assert "no baselines directory" in capsys.readouterr().err


def test_the_run_summary_says_why_an_old_directory_is_not_applied(root):
    assert legacy_baselines_note(root, GENOA, ()) == []  # nothing under the old key
    write(root, OLD)
    (note,) = legacy_baselines_note(root, GENOA, ())
    assert f"{root / OLD} is filed under the old hardware key" in note
    assert f"not applied here ({NEW})" in note and f"run `python -m pytest_triton.baselines.migrate {root}`" in note
    assert "--triton-gpu" not in note
    write(root, NEW, hardware=GENOA.to_json())
    assert legacy_baselines_note(root, GENOA, ()) == []  # this machine has baselines of its own


def test_an_update_records_the_hardware_and_keeps_it(tmp_path):
    store, key = BaselineStore(tmp_path), BaselineKey(NEW, "perf")
    entry = BaselineFile.from_json(document(NEW)).entries
    store.update(key, {"triton": "2.51.0"}, entry, GENOA.to_json())
    assert json.loads(store.path(key).read_text())["hardware"] == GENOA.to_json()
    store.update(key, {"triton": "2.52.0"}, entry)  # recorded before: kept
    loaded = store.load(key)
    assert loaded.hardware == GENOA.to_json() and HardwareFacts.from_json(loaded.hardware) == GENOA
    assert loaded.with_tolerances({"throughput": 0.3}).hardware == GENOA.to_json()
