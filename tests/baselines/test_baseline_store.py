"""The baseline store: validated reads and writes, merges, atomic replacement, concurrent updates."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from pytest_triton.baselines import BaselineEntry, BaselineFileError, BaselineKey, BaselineStore

KEY = BaselineKey("cpu-test-model-2c", "perf")
SOFTWARE = {"triton": "2.51.0", "backend": "python", "torch": "2.14.1", "onnxruntime": None}


def entry(value: float, noise: float | None = 0.02) -> BaselineEntry:
    return BaselineEntry(value=value, unit="infer/s", direction="higher", tolerance=0.05, noise=noise)


def test_missing_file_loads_as_none(tmp_path):
    assert BaselineStore(tmp_path).load(KEY) is None


def test_update_writes_a_file_that_loads_back_equal(tmp_path):
    store = BaselineStore(tmp_path)
    written = store.update(KEY, SOFTWARE, {"sleep/c1": {"throughput": entry(49.8)}})

    assert store.path(KEY) == tmp_path / "cpu-test-model-2c" / "perf.json"
    loaded = store.load(KEY)
    assert loaded == written
    assert loaded.get("sleep/c1", "throughput") == entry(49.8)
    assert loaded.get("sleep/c1", "latency_p99") is None
    assert loaded.software == SOFTWARE


def test_merge_keeps_unrelated_entries_and_replaces_the_updated_ones(tmp_path):
    store = BaselineStore(tmp_path)
    first = {"a/c1": {"throughput": entry(1), "latency_p99": entry(2)}, "b/c1": {"throughput": entry(3)}}
    store.update(KEY, SOFTWARE, first)
    second = {"a/c1": {"throughput": entry(10)}, "c/c4": {"throughput": entry(4)}}
    store.update(KEY, {**SOFTWARE, "triton": "2.52.0"}, second)

    loaded = store.load(KEY)
    assert loaded.get("a/c1", "throughput").value == 10
    assert loaded.get("a/c1", "latency_p99").value == 2  # same config, other metric: kept
    assert loaded.get("b/c1", "throughput").value == 3  # other config: kept
    assert loaded.get("c/c4", "throughput").value == 4
    assert loaded.software["triton"] == "2.52.0"


def test_an_update_keeps_the_tolerance_a_reviewer_set(tmp_path):
    store = BaselineStore(tmp_path)
    store.update(KEY, SOFTWARE, {"a/c1": {"throughput": BaselineEntry(100, "infer/s", "higher", 0.25, 0.02)}})
    store.update(KEY, SOFTWARE, {"a/c1": {"throughput": entry(90, noise=0.03)}})  # recorded with the default 5%

    assert store.load(KEY).get("a/c1", "throughput") == BaselineEntry(90, "infer/s", "higher", 0.25, 0.03)


def test_the_weights_an_entry_was_measured_with_are_stored_and_an_update_records_the_new_ones(tmp_path):
    store = BaselineStore(tmp_path)
    store.update(KEY, SOFTWARE, {"q/v1.1": {"f1": BaselineEntry(93.7, "%", "higher", 0.005, 0.0, "148370b3148370b3")}})
    assert store.load(KEY).get("q/v1.1", "f1").weights == "148370b3148370b3"
    store.update(KEY, SOFTWARE, {"q/v1.1": {"f1": BaselineEntry(92.0, "%", "higher", 0.005, 0.0, "9d268b2f9d268b2f")}})
    assert store.load(KEY).get("q/v1.1", "f1") == BaselineEntry(92.0, "%", "higher", 0.005, 0.0, "9d268b2f9d268b2f")


def test_tolerances_set_per_metric_apply_to_every_config_and_survive_updates(tmp_path):
    store = BaselineStore(tmp_path)
    store.update(KEY, SOFTWARE, {"a/c1": {"throughput": entry(1)}, "b/c4": {"throughput": entry(2)}})
    store.modify(KEY, lambda current: current.with_tolerances({"throughput": 0.2, "latency_p50": 0.3}))
    store.update(KEY, SOFTWARE, {"a/c1": {"throughput": entry(5)}})

    loaded = store.load(KEY)
    assert [loaded.get(c, "throughput").tolerance for c in ("a/c1", "b/c4")] == [0.2, 0.2]
    assert loaded.get("a/c1", "throughput").value == 5


def test_files_are_sorted_and_stable_so_a_diff_shows_only_changes(tmp_path):
    store = BaselineStore(tmp_path)
    store.update(KEY, SOFTWARE, {"z/c1": {"throughput": entry(1.0)}, "a/c1": {"throughput": entry(2.123456789)}})
    first = store.path(KEY).read_text()
    store.update(KEY, SOFTWARE, {"a/c1": {"throughput": entry(2.123456789)}})  # same values again
    assert store.path(KEY).read_text() == first

    document = json.loads(first)
    assert first == json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert first.index('"a/c1"') < first.index('"z/c1"')
    assert document["entries"]["a/c1"]["throughput"]["value"] == 2.12346  # six significant digits
    store.update(KEY, SOFTWARE, {"z/c1": {"throughput": entry(1.5)}})
    changed = [
        (old, new) for old, new in zip(first.splitlines(), store.path(KEY).read_text().splitlines()) if old != new
    ]
    assert changed == [('        "value": 1.0', '        "value": 1.5')]


def test_a_malformed_file_is_reported_and_never_overwritten(tmp_path):
    store = BaselineStore(tmp_path)
    path = store.path(KEY)
    path.parent.mkdir(parents=True)
    path.write_text('{"schema_version": 1, "entries": {,}}')

    with pytest.raises(BaselineFileError, match=r"perf\.json.*not valid JSON \(line 1, column 35"):
        store.load(KEY)
    with pytest.raises(BaselineFileError, match="not overwritten"):
        store.update(KEY, SOFTWARE, {"a/c1": {"throughput": entry(1)}})
    assert path.read_text() == '{"schema_version": 1, "entries": {,}}'
    assert [p.name for p in path.parent.iterdir()] == ["perf.json"]  # no temp file left behind


def test_a_schema_invalid_file_is_never_overwritten(tmp_path):
    store = BaselineStore(tmp_path)
    store.update(KEY, SOFTWARE, {"a/c1": {"throughput": entry(1)}})
    path = store.path(KEY)
    broken = path.read_text().replace('"higher"', '"up"')
    path.write_text(broken)

    with pytest.raises(BaselineFileError) as error:
        store.update(KEY, SOFTWARE, {"b/c1": {"throughput": entry(2)}})
    assert '$.entries["a/c1"].throughput.direction' in str(error.value)
    assert path.read_text() == broken


def test_an_update_that_would_be_invalid_is_refused_and_the_file_kept(tmp_path):
    store = BaselineStore(tmp_path)
    store.update(KEY, SOFTWARE, {"a/c1": {"throughput": entry(1)}})
    before = store.path(KEY).read_text()

    with pytest.raises(BaselineFileError, match=r"(?s)update of baseline file .*tolerance"):
        store.update(KEY, SOFTWARE, {"b/c1": {"throughput": BaselineEntry(1, "x", "higher", tolerance=-1)}})
    assert store.path(KEY).read_text() == before


def test_a_file_in_the_wrong_place_is_refused(tmp_path):
    store = BaselineStore(tmp_path)
    store.update(KEY, SOFTWARE, {"a/c1": {"throughput": entry(1)}})
    other = BaselineKey("gpu-nvidia-a100", "perf")
    store.path(other).parent.mkdir()
    store.path(other).write_text(store.path(KEY).read_text())

    with pytest.raises(BaselineFileError, match="cpu-test-model-2c"):
        store.load(other)


@pytest.mark.parametrize("scope", ["../escape", "CPU Model", "", "a/b"])
def test_keys_must_be_filesystem_safe(scope):
    with pytest.raises(ValueError):
        BaselineKey(scope, "perf")


def _worker(root: str, worker: int, rounds: int) -> None:
    store = BaselineStore(Path(root))
    for i in range(rounds):
        # Each worker its own configs, plus one config every worker writes (last writer wins there).
        store.update(
            KEY,
            SOFTWARE,
            {f"w{worker}/r{i}": {"throughput": entry(worker * 1000 + i)}, "shared/c1": {f"m{worker}": entry(i)}},
        )


def test_concurrent_updates_from_several_processes_lose_nothing(tmp_path):
    workers, rounds = 4, 15
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(str(tmp_path), w, rounds)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]

    loaded = BaselineStore(tmp_path).load(KEY)
    for w in range(workers):
        for i in range(rounds):
            assert loaded.get(f"w{w}/r{i}", "throughput").value == w * 1000 + i
        assert loaded.get("shared/c1", f"m{w}").value == rounds - 1
    assert len(loaded.entries) == workers * rounds + 1
