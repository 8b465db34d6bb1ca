"""atomic_write: a directory is in place whole or not at all, and a second writer of the same one loses nothing."""

from __future__ import annotations

import pytest

from pytest_triton.atomic_write import staged_directory, write_text_atomic


def test_a_staged_directory_appears_whole_when_the_block_ends(tmp_path):
    final = tmp_path / "set"
    with staged_directory(final) as staging:
        (staging / "a.txt").write_text("a")
        assert not final.exists() and staging.name.startswith(".set-")
    assert (final / "a.txt").read_text() == "a" and [p.name for p in tmp_path.iterdir()] == ["set"]


def test_a_failed_block_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with staged_directory(tmp_path / "set") as staging:
            (staging / "half.txt").write_text("half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_the_first_of_two_writers_is_kept(tmp_path):
    final = tmp_path / "set"
    with staged_directory(final) as second:
        (second / "b.txt").write_text("second")
        with staged_directory(final) as first:  # finishes first, as another worker would
            (first / "a.txt").write_text("first")
    assert [p.name for p in final.iterdir()] == ["a.txt"] and [p.name for p in tmp_path.iterdir()] == ["set"]


def test_a_file_written_atomically_replaces_the_old_one(tmp_path):
    path = tmp_path / "f.json"
    write_text_atomic(path, "old")
    write_text_atomic(path, "new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_a_rename_that_fails_for_another_reason_is_raised_and_loses_nothing_in_place(tmp_path):
    """--out DIR as a symlink to an empty directory: renaming onto the link fails (ENOTDIR), and saying nothing would
    leave DIR empty after a run that seemed to succeed."""
    (tmp_path / "real").mkdir()
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "real")
    with pytest.raises(NotADirectoryError):
        with staged_directory(link) as staging:
            (staging / "model.pt").write_text("weights")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real"]
