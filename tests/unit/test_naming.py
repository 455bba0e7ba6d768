"""Property tests for core/naming.py: input blob names, output names, safe paths."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from topwords.core.errors import InputError, StorageError
from topwords.core.inputs import validate_inputs
from topwords.core.naming import input_blob_names, safe_local_path
from topwords.node.task import result_blob_name as output_name_for

BASE = Path("/tmp/topwords-naming")


def segments_without(forbidden: str) -> st.SearchStrategy[str]:
    """One path segment as a POSIX file system allows it, minus ``forbidden``."""
    return st.text(st.characters(blacklist_characters=forbidden, blacklist_categories=("Cs",)),
                   min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


segments = segments_without("/\0")
relative_paths = st.lists(segments, min_size=1, max_size=4).map(tuple)
# Backslashes are legal in POSIX file names but not in blob names (see the xfail).
plain_paths = st.lists(segments_without("/\0\\"), min_size=1, max_size=4).map(tuple)


def as_paths(parts: list[tuple[str, ...]], relative_mask: list[bool]) -> list[Path]:
    """Absolute paths below BASE, some given relative to the working directory."""
    paths = []
    for segs, relative in zip(parts, relative_mask + [False] * len(parts)):
        path = BASE.joinpath(*segs)
        paths.append(Path(os.path.relpath(path)) if relative else path)
    return paths


def good_parts(name: str) -> bool:
    return all(part not in ("", ".", "..") for part in name.split("/"))


# -- input_blob_names --------------------------------------------------------

@given(st.lists(relative_paths, min_size=1, max_size=8, unique=True),
       st.lists(st.booleans(), max_size=8))
def test_input_blob_names_distinct_paths_give_distinct_safe_suffixes(parts, relative_mask):
    paths = as_paths(parts, relative_mask)
    names = input_blob_names(paths)
    assert len(names) == len(paths)
    assert len(set(names)) == len(names)
    for path, name in zip(paths, names):
        assert good_parts(name)
        assert Path(os.path.abspath(path)).as_posix().endswith("/" + name)


@given(st.lists(segments, min_size=0, max_size=3),
       st.lists(segments, min_size=1, max_size=8, unique=True))
def test_input_blob_names_one_folder_keeps_base_names(folder, files):
    paths = [BASE.joinpath(*folder, name) for name in files]
    assert input_blob_names(paths) == files


def test_input_blob_names_same_base_name_in_two_folders_keeps_folders():
    assert input_blob_names([BASE / "a" / "x.txt", BASE / "b" / "x.txt"]) == ["a/x.txt", "b/x.txt"]


def test_input_blob_names_no_paths_gives_no_names():
    assert input_blob_names([]) == []


@given(st.lists(plain_paths, min_size=1, max_size=8, unique=True))
def test_input_blob_names_outputs_can_be_downloaded(parts):
    """What the workflow uploads, a node names, and download_container maps."""
    for name in input_blob_names([BASE.joinpath(*p) for p in parts]):
        safe_local_path(BASE, name)
        safe_local_path(BASE, output_name_for(name))


def test_validate_inputs_with_backslash_in_file_name_raises_input_error(tmp_path):
    odd = tmp_path / "odd\\name.txt"
    odd.write_text("words\n", encoding="utf-8")
    with pytest.raises(InputError, match="backslash"):
        validate_inputs([odd])


# -- output_name_for ---------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("a/x.txt", "a/x_OUTPUT.txt"),
    ("x", "x_OUTPUT"),
    ("taskdata1.txt", "taskdata1_OUTPUT.txt"),
    ("a/b/x.tar.gz", "a/b/x.tar_OUTPUT.gz"),
    ("jaźń…/plik ü.txt", "jaźń…/plik ü_OUTPUT.txt"),
])
def test_output_name_for_known_names_gives_expected(name, expected):
    assert output_name_for(name) == expected


@given(relative_paths)
def test_output_name_for_keeps_folder_and_marks_name(parts):
    name = "/".join(parts)
    out = output_name_for(name)
    assert PurePosixPath(out).parent == PurePosixPath(name).parent
    assert "_OUTPUT" in PurePosixPath(out).name
    assert out != name


@given(st.lists(relative_paths, min_size=2, max_size=6, unique=True))
@example([("a.b",), ("a_OUTPUT",)])
def test_output_name_for_distinct_inputs_give_distinct_outputs(parts):
    names = input_blob_names([BASE.joinpath(*p) for p in parts])
    outputs = [output_name_for(n) for n in names]
    assert len(set(outputs)) == len(outputs)


# -- safe_local_path ---------------------------------------------------------

@given(st.text(max_size=40))
@example("../evil.txt")
@example("a/../../x")
@example("/etc/passwd")
@example("a/./b")
@example("..\\x")
@example("a\0b")
def test_safe_local_path_any_name_stays_inside_or_raises(tmp_path_factory, name):
    directory = tmp_path_factory.getbasetemp() / "target"
    try:
        target = safe_local_path(directory, name)
    except StorageError:
        return
    assert Path(os.path.abspath(directory)) in target.parents


@given(plain_paths)
def test_safe_local_path_safe_name_maps_below_directory(parts):
    name = "/".join(parts)
    assert safe_local_path(BASE, name) == BASE.joinpath(*parts)


@pytest.mark.parametrize("name", ["", "../evil.txt", "a/../../x", "/abs", "a//b", "a/./b",
                                  "a/", "..", ".", "a\\b", "nul\0"])
def test_safe_local_path_unsafe_name_raises_storage_error(name):
    with pytest.raises(StorageError):
        safe_local_path(BASE, name)
