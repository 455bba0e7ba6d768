"""Counting rules of node/task.py, checked against an independent oracle."""
from __future__ import annotations

import ast
import io
import multiprocessing
import os
import random
import re
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


# ---------------------------------------------------------------------------
# The fast counter: raw byte tokens, per-distinct-token rules, parallel pieces.

BYTE_PIECES = [
    b"\xef\xbb\xbf",                  # BOM (kept inside a token unless at the very start)
    b"\xe6\x97", b"\xf0\x9f\x98", b"\xe2\x80",  # truncated sequences
    b"\x80", b"\xbf", b"\xc2", b"\xff", b"\xf5", b"\xc0\xaf", b"\xed\xa0\x80",  # invalid
    b"\xc2\x85", b"\xc2\xa0", b"\xe2\x80\x89", b"\xe3\x80\x80", b"\xe1\x9a\x80",  # Unicode spaces
    b"\x1c", b"\x1d", b"\x1e", b"\x1f", b"\x00",
    b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c",
]
byte_texts = st.lists(
    st.one_of(st.sampled_from(BYTE_PIECES), st.binary(max_size=4),
              texts.map(lambda t: t.encode("utf-8"))),
    max_size=12,
).map(b"".join)


def oracle_bytes(data: bytes, ignore_case: bool = False) -> Counter:
    return oracle(data.decode("utf-8", "replace"), ignore_case)


@settings(max_examples=300, deadline=None)
@given(data=byte_texts)
def test_decode_per_ascii_space_token_equals_decoding_whole_text(data):
    whole = data.decode("utf-8", "replace")
    per_token = [token.decode("utf-8", "replace") for token in data.split()]
    assert per_token == [t for t in re.split("[ \t\n\r\x0b\x0c]", whole) if t]


@settings(max_examples=300, deadline=None)
@given(data=byte_texts, chunk_size=chunk_sizes, ignore_case=st.booleans(), bom=st.booleans())
def test_count_stream_any_bytes_matches_oracle_and_reference(data, chunk_size, ignore_case, bom):
    data = (b"\xef\xbb\xbf" if bom else b"") + data
    expected = oracle_bytes(data, ignore_case)
    assert count_bytes(data, chunk_size, ignore_case) == expected
    assert task._count_reference(io.BytesIO(data), ignore_case, chunk_size) == expected


@settings(max_examples=300, deadline=None)
@given(data=byte_texts, chunk_size=chunk_sizes, ignore_case=st.booleans(),
       offsets=st.lists(st.integers(0, 200), max_size=6), bom=st.booleans())
def test_count_ranges_any_split_points_merged_match_oracle(data, chunk_size, ignore_case,
                                                           offsets, bom):
    data = (b"\xef\xbb\xbf" if bom else b"") + data
    stream = io.BytesIO(data)
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    ranges = task.split_ranges(stream, len(data), sorted(offsets), start, window=2)
    assert [r[0] for r in ranges[1:]] == [r[1] for r in ranges[:-1]]  # contiguous
    assert all(data[cut:cut + 1].isspace() for _, cut in ranges[:-1])  # cut at a space
    assert (ranges[0][0], ranges[-1][1]) == (start, len(data)) if ranges else len(data) == start
    words: Counter = Counter()
    for begin, end in ranges:  # each range as a separate process would count it
        raw = task.count_raw_range(stream, begin, end, chunk_size)
        words.update(task.normalize_raw_counts(raw, ignore_case))
    assert words == oracle_bytes(data, ignore_case)


@settings(max_examples=200, deadline=None)
@given(data=byte_texts, batch=st.integers(1, 5), ignore_case=st.booleans())
def test_word_totals_any_batch_size_consuming_raw_matches_oracle(data, batch, ignore_case):
    raw = task.count_raw_stream(io.BytesIO(data), 3)
    totals = task._word_totals(raw, ignore_case, consume=True, batch=batch)
    assert Counter(totals) == oracle_bytes(data, ignore_case)
    assert not raw  # consumed


@settings(max_examples=25, deadline=None)
@given(data=byte_texts, chunk_size=chunk_sizes, piece_size=st.integers(1, 40),
       workers=st.integers(2, 3), ignore_case=st.booleans())
def test_count_words_processes_any_pieces_match_oracle(tmp_path_factory, data, chunk_size,
                                                       piece_size, workers, ignore_case):
    path = tmp_path_factory.mktemp("pieces") / "in.txt"
    path.write_bytes(b"\xef\xbb\xbf" + data)
    got = task.count_words(path, ignore_case, chunk_size, workers=workers,
                           piece_size=piece_size, min_parallel_size=0)
    assert got == oracle_bytes(b"\xef\xbb\xbf" + data, ignore_case)


def sample_file(tmp_path, repeats=200) -> Path:
    path = tmp_path / "in.txt"
    path.write_bytes(("\ufeff“Batch” pool, pool\u00a0node\u2009task… Straße STRASSE don't "
                      "\x1cjaźń—x\n" * repeats).encode("utf-8") + b"tail\xe6\x97")
    return path


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_count_words_start_method_many_pieces_matches_reference(tmp_path, start_method):
    if start_method not in multiprocessing.get_all_start_methods():
        pytest.skip("no %s on this platform" % start_method)
    path = sample_file(tmp_path)
    with open(path, "rb") as stream:
        expected = task._count_reference(stream, True)
    assert task.count_words(path, True, 64, workers=3, piece_size=100, min_parallel_size=0,
                            start_method=start_method) == expected


def test_count_words_small_file_below_threshold_starts_no_process(tmp_path, monkeypatch):
    monkeypatch.setattr(task, "_count_parallel", None)  # calling it would fail
    path = sample_file(tmp_path)
    assert task.count_words(path, workers=4, piece_size=100) == task.count_words(path, workers=1)


@pytest.fixture
def fork_only():
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("the child sees the patched worker only with fork")


def test_count_words_worker_dies_raises_task_error(tmp_path, monkeypatch, fork_only):
    monkeypatch.setattr(task, "_piece_worker", lambda *args: os._exit(3))
    with pytest.raises(task.TaskError, match="exit code 3"):
        task.count_words(sample_file(tmp_path), workers=2, piece_size=100,
                         min_parallel_size=0, start_method="fork")


def test_count_words_worker_os_error_is_raised_in_parent(tmp_path, monkeypatch, fork_only):
    def failing_worker(path, pieces, next_piece, chunk_size, ignore_case, conn):
        conn.send((False, PermissionError(13, "Permission denied", str(path))))
        conn.close()

    monkeypatch.setattr(task, "_piece_worker", failing_worker)
    with pytest.raises(PermissionError):
        task.count_words(sample_file(tmp_path), workers=2, piece_size=100,
                         min_parallel_size=0, start_method="fork")


class RecordingFile(io.FileIO):
    """A real file (it has a fileno) that records the size asked by every read."""

    sizes: list = []

    def read(self, size=-1):
        self.sizes.append(size)
        return super().read(size)


def test_count_words_processes_read_bounded_chunks(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    line = "alpha beta, “gamma” beta\n".encode("utf-8")
    repeats = 4 * 2**20 // len(line)
    path.write_bytes(line * repeats)
    RecordingFile.sizes = []
    monkeypatch.setattr(task, "open", lambda file, mode: RecordingFile(file), raising=False)
    counts = task.count_words(path, chunk_size=1 << 16, workers=2, piece_size=1 << 20,
                              min_parallel_size=0, start_method="fork")
    assert counts == {"alpha": repeats, "beta": 2 * repeats, "gamma": repeats}
    assert RecordingFile.sizes and all(0 < size <= 1 << 16 for size in RecordingFile.sizes)


def test_split_ranges_giant_token_reads_linear_amount(tmp_path):
    data = b"x" * 100_000 + b" y"
    sizes = []

    class Recorder(io.BytesIO):
        def read(self, size=-1):
            sizes.append(size)
            return super().read(size)

    ranges = task.split_ranges(Recorder(data), len(data), range(10, len(data), 10), 0,
                               window=1000)
    assert ranges == [(0, 100_000), (100_000, len(data))]
    assert sum(sizes) <= 2 * len(data)


def test_normalize_raw_counts_token_with_ascii_space_raises_value_error():
    with pytest.raises(ValueError):
        task.normalize_raw_counts({b"a\nb": 1})


def test_other_space_pattern_is_str_isspace_except_newline():
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert "".join(task._OTHER_SPACE.findall(every)) == "".join(
        ch for ch in every if ch.isspace() and ch != "\n")


def test_usable_cpus_is_positive():
    assert task.usable_cpus() >= 1
