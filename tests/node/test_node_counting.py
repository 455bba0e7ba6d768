"""Counting rules of node/task.py, checked against an independent oracle."""
from __future__ import annotations

import ast
import io
import random
import string
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topwords.node import task

TUTORIAL = Path(__file__).resolve().parents[2].parent / "shared/data/tutorial"

# The oracle's punctuation: built here from the whole code space, not taken from task.py.
PUNCT = "".join(
    sorted(set(string.punctuation) | {
        chr(cp) for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)).startswith("P")
    })
)


def oracle(text: str, ignore_case: bool = False) -> Counter:
    """The rules, written the slow obvious way on the whole decoded text."""
    if text.startswith("\ufeff"):
        text = text[1:]
    words = (t.strip(PUNCT) for t in text.split())
    return Counter(w.casefold() if ignore_case else w for w in words if w)


def count_bytes(data: bytes, chunk_size: int, ignore_case: bool = False) -> Counter:
    return task.count_stream(io.BytesIO(data), ignore_case, chunk_size)


WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003"
              "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
UNICODE_PUNCT = "“”‘’—–…«»¿¡、。・‐‧※〈〉【】·§¶"
NOT_PUNCT = "€©°±→\u200b\u0301\ufeff"  # symbols, zero-width space, combining mark, BOM
LETTERS = "abcXYZ019ąćęłńóśźżĄŁŻßİıΣσς日本語😀👍🏽"
POOL = list(WHITESPACE + string.punctuation + UNICODE_PUNCT + NOT_PUNCT + LETTERS)

texts = st.text(
    alphabet=st.one_of(st.sampled_from(POOL), st.characters(blacklist_categories=("Cs",))),
    max_size=120,
)
chunk_sizes = st.integers(min_value=1, max_value=9)


@settings(max_examples=300, deadline=None)
@given(text=texts, chunk_size=chunk_sizes, bom=st.booleans())
def test_count_random_text_any_chunk_size_matches_oracle(text, chunk_size, bom):
    text = ("\ufeff" if bom else "") + text
    assert count_bytes(text.encode("utf-8"), chunk_size) == oracle(text)


@settings(max_examples=200, deadline=None)
@given(text=texts, chunk_size=chunk_sizes)
def test_count_random_text_ignore_case_matches_casefolded_oracle(text, chunk_size):
    got = count_bytes(text.encode("utf-8"), chunk_size, ignore_case=True)
    assert got == oracle(text, ignore_case=True)


@settings(max_examples=200, deadline=None)
@given(text=texts, chunk_size=chunk_sizes)
def test_iter_raw_tokens_any_chunk_boundary_equals_str_split(text, chunk_size):
    tokens = list(task.iter_raw_tokens(io.BytesIO(text.encode("utf-8")), chunk_size))
    assert tokens == text.removeprefix("\ufeff").split()


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.one_of(st.binary(max_size=5), texts.map(lambda t: t.encode("utf-8")))),
    chunk_size=chunk_sizes,
)
def test_count_invalid_utf8_bytes_matches_oracle_on_replaced_text(pieces, chunk_size):
    data = b"".join(pieces)
    assert count_bytes(data, chunk_size) == oracle(data.decode("utf-8", "replace"))


counts_maps = st.dictionaries(st.text(min_size=1, max_size=4), st.integers(1, 6), max_size=40)


@settings(max_examples=200, deadline=None)
@given(counts=counts_maps, n=st.integers(min_value=1, max_value=50), seed=st.integers())
def test_top_words_any_insertion_order_is_count_then_code_point(counts, n, seed):
    expected = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:n]
    shuffled = list(counts.items())
    random.Random(seed).shuffle(shuffled)
    assert task.top_words(counts, n) == expected
    assert task.top_words(dict(shuffled), n) == expected


def test_top_words_tie_at_nth_place_breaks_by_code_point():
    counts = {"b": 2, "a": 2, "Z": 2, "é": 2, "top": 5}
    assert task.top_words(counts, 3) == [("top", 5), ("Z", 2), ("a", 2)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“Batch”", {"Batch": 1}),
        ("a — b", {"a": 1, "b": 1}),
        ("don't e-mail tasks—processing", {"don't": 1, "e-mail": 1, "tasks—processing": 1}),
        ("jaźń…", {"jaźń": 1}),
        ("\ufeffBatch batch", {"Batch": 1, "batch": 1}),
        ("«¿Qué?» ... !!!", {"Qué": 1}),
        ("x\u00a0y\u2009z\u3000w\x1cv\x85u", dict.fromkeys("xyzwvu", 1)),
        ("€5 →", {"€5": 1, "→": 1}),
    ],
)
def test_count_examples_strip_end_punctuation_only(text, expected):
    assert count_bytes(text.encode("utf-8"), 3) == Counter(expected)


def test_count_bom_in_middle_kept_inside_token():
    assert count_bytes("a \ufeffb".encode("utf-8"), 2) == Counter({"a": 1, "\ufeffb": 1})


def test_count_ignore_case_casefolds_after_stripping():
    text = "“Straße” STRASSE straße Σ σ ς"
    assert count_bytes(text.encode("utf-8"), 4, ignore_case=True) == Counter(
        {"strasse": 3, "σ": 3})


@pytest.mark.parametrize(
    ("name", "top3"),
    [
        ("taskdata1.txt", [("to", 18), ("and", 17), ("you", 14)]),
        ("taskdata2.txt", [("Storage", 11), ("for", 8), ("data", 7)]),
        ("taskdata3.txt", [("the", 10), ("of", 8), ("and", 6)]),
    ],
)
def test_count_tutorial_files_gives_documented_top3(name, top3):
    if not TUTORIAL.is_dir():
        pytest.skip("tutorial data folder %s is absent" % TUTORIAL)
    path = TUTORIAL / name
    assert task.top_words(task.count_words(path), 3) == top3
    assert task.count_words(path, chunk_size=7) == oracle(path.read_text("utf-8"))


class ReadSizeRecorder(io.RawIOBase):
    """Wraps a binary file and records the size asked by every read() call."""

    def __init__(self, raw):
        self.raw, self.sizes = raw, []

    def read(self, size=-1):
        self.sizes.append(size)
        return self.raw.read(size)

    def readable(self):
        return True


def test_count_large_repetitive_file_reads_bounded_chunks(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    line = "alpha beta, “gamma” beta\n".encode("utf-8")
    repeats = 20 * 2**20 // len(line)
    path.write_bytes(line * repeats)
    recorders = []

    def recording_open(file, mode="r", *args, **kwargs):
        recorders.append(ReadSizeRecorder(open(file, mode, *args, **kwargs)))
        return recorders[-1]

    monkeypatch.setattr(task, "open", recording_open, raising=False)
    counts = task.count_words(path, chunk_size=1 << 20)
    assert counts == {"alpha": repeats, "beta": 2 * repeats, "gamma": repeats}
    (recorder,) = recorders
    assert len(recorder.sizes) > 20
    assert all(0 < size <= 1 << 20 for size in recorder.sizes)


def test_format_report_with_env_matches_tutorial_layout():
    env = {"AZ_BATCH_NODE_ID": "n1", "AZ_BATCH_TASK_ID": "t0",
           "AZ_BATCH_JOB_ID": "j", "AZ_BATCH_POOL_ID": "p"}
    assert task.format_report([("to", 18), ("and", 17)], env) == (
        "Word\tCount\n" + "-" * 30 + "\nto:\t18\nand:\t17\n" + "-" * 30 + "\n"
        "Node: n1\nTask: t0\nJob:  j\nPool: p\n")


def test_format_report_without_env_writes_dashes():
    assert task.format_report([], {}).endswith("Node: -\nTask: -\nJob:  -\nPool: -\n")


@pytest.mark.parametrize(
    ("path", "expected"),
    [("a/x.txt", "a/x_OUTPUT.txt"), ("notes", "notes_OUTPUT"), ("x.tar.gz", "x.tar_OUTPUT.gz"),
     ("/abs/d.ir/f", "/abs/d.ir/f_OUTPUT")],
)
def test_output_path_for_input_path_gives_sibling_output(path, expected):
    assert task.output_path_for(path) == expected


def test_default_blob_name_inside_cwd_is_relative_posix_path(tmp_path):
    (tmp_path / "sub").mkdir()
    assert task.default_blob_name(tmp_path / "sub" / "x_OUTPUT.txt", tmp_path) == "sub/x_OUTPUT.txt"


def test_default_blob_name_outside_cwd_is_base_name(tmp_path):
    (tmp_path / "cwd").mkdir()
    assert task.default_blob_name(tmp_path / "x_OUTPUT.txt", tmp_path / "cwd") == "x_OUTPUT.txt"


def test_source_parse_as_python38_uses_stdlib_only():
    source = Path(task.__file__).read_text("utf-8")
    tree = ast.parse(source, feature_version=(3, 8))
    modules = {alias.name.split(".")[0] for node in ast.walk(tree)
               if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}
