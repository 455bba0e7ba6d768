"""Every file name the OS can give either works or is refused up front.

Works: the name becomes a blob name that Blob Storage keeps as it is, the
node task names its result as the workflow expects, and the result maps
inside the output directory. Refused: ``InputError``, one printable line,
exit 2 from the CLI, before any backend exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import unicodedata
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from topwords.cli import main as cli
from topwords.core import registry
from topwords.core.errors import InputError
from topwords.core.inputs import validate_inputs as _validate_inputs
from topwords.core.naming import (
    MAX_BLOB_NAME, blob_name_problem, printable, safe_local_path,
)
from topwords.node import task
from topwords.node.task import result_blob_name as output_name_for

def validate_inputs(paths):
    """As ``topwords run`` validates: the inputs, then what the top-N
    workload asks of them (its results' names, text)."""
    from topwords.workloads.topn import TopWords
    items = _validate_inputs(paths)
    TopWords().check(items)
    return items


#: names that must work end to end (tests/e2e runs some of them for real)
ACCEPTED = [
    "my notes.txt", " leading space.txt", "trailing space.txt ", "hash#1.txt",
    "what?.txt", "100%.txt", "pct%20encoded.txt", "a&b=c+d;e.txt", "it's \"quoted\".txt",
    "$(echo hi) `x` *.txt", "[a]{b}<c>|d~.txt", "emoji 😀.txt", "family 👨\u200d👩\u200d👧.txt",
    "cafe\u0301.txt", "café.txt", "zażółć gęślą jaźń.txt", "日本語.txt", "nbsp\u00a0.txt",
    "zero\u200bwidth.txt", "rtl\u202eoverride.txt", "bom\ufeff.txt", "..double-dot",
    ".hidden", "no-extension", "x.tar.gz", "x_OUTPUT.txt", "-x.txt", "--numwords=9", "cjk ext b \U00020b9f.txt",
    "a" * 248,  # the longest base name whose result (+7 bytes) fits 255
]

#: (file name as bytes, a fragment of the reason)
REFUSED = [
    (b"\xff.txt", "not UTF-8 (\\xff)"),
    (b"latin1 caf\xe9.txt", "not UTF-8 (\\xe9)"),
    (b"esc\x1b[31mred.txt", "control character \\x1b"),
    (b"tab\tname.txt", "control character \\t"),
    (b"new\nline.txt", "control character \\n"),
    (b"del\x7f.txt", "control character \\x7f"),
    ("c1\u0085.txt".encode(), "control character \\x85"),
    ("c1\u009b.txt".encode(), "control character \\x9b"),
    (b"a.", "ending in '.'"),
    (b"dots...", "ending in '.'"),
    ("nonchar\uffff.txt".encode(), "noncharacter U+FFFF"),
    ("nonchar\ufdd0.txt".encode(), "noncharacter U+FDD0"),
    ("private\ue000.txt".encode(), "private-use character U+E000"),
    (b"back\\slash.txt", "backslash"),
    (b"b" * 249, "255"),  # fits the file system, its result b..b_OUTPUT does not
    (b"GLOBAL.txt", "GLOBAL_OUTPUT.txt, the name of the corpus-wide result"),
]


@pytest.fixture
def no_backend(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a backend was created although validation failed")
    monkeypatch.setattr(registry, "create", refuse)


def make(folder: Path, name: bytes | str, text: str = "words\n") -> Path:
    """Create ``folder/name`` (name as the OS sees it) and return its path."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    full = os.path.join(os.fsencode(folder), raw)
    with open(full, "wb") as f:
        f.write(text.encode("utf-8"))
    return Path(os.fsdecode(full))


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_safe_line(text: str) -> bool:
    """No control character, separator or surrogate: one line on any terminal."""
    return not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in text)


def is_good_blob_name(name: str) -> bool:
    """The oracle, written from the rules, not from naming.py."""
    try:
        encoded = name.encode("utf-8")  # strict: no surrogates
    except UnicodeEncodeError:
        return False
    parts = name.split("/")
    return (0 < len(name.encode("utf-16-le")) // 2 <= MAX_BLOB_NAME
            and all(unicodedata.category(c) not in ("Cc", "Cs", "Co") for c in name)
            and "\\" not in name
            and all(p and p not in (".", "..") and not p.endswith(".") for p in parts)
            and all(len(p.encode("utf-8")) <= 255 for p in parts)
            and urllib.parse.unquote(urllib.parse.quote(name, safe="/")) == name
            and encoded.decode("utf-8") == name)


# -- names that work ----------------------------------------------------------

@pytest.mark.parametrize("name", ACCEPTED)
def test_validate_inputs_odd_but_valid_name_keeps_it_as_blob_name(tmp_path, name):
    path = make(tmp_path, name)
    [item] = validate_inputs([path])
    assert item.blob_name == name
    assert is_good_blob_name(item.blob_name) and is_good_blob_name(output_name_for(name))
    assert output_name_for(name) == task.output_path_for(name)  # the node agrees
    out = safe_local_path(tmp_path / "out", output_name_for(name))
    assert (tmp_path / "out") in out.parents


def test_validate_inputs_nfc_and_nfd_spellings_stay_two_inputs(tmp_path):
    nfc, nfd = "caf\u00e9.txt", "cafe\u0301.txt"
    items = validate_inputs([make(tmp_path, nfc), make(tmp_path, nfd)])
    assert [i.blob_name for i in items] == [nfc, nfd]


def test_validate_inputs_undecodable_folder_above_the_blob_name_is_fine(tmp_path):
    folder = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9")))
    folder.mkdir()
    [item] = validate_inputs([make(folder, "ok.txt")])
    assert item.blob_name == "ok.txt"


# -- names that are refused -------------------------------------------------

@pytest.mark.parametrize("name, reason", REFUSED, ids=[ascii(n)[2:-1] for n, _ in REFUSED])
def test_run_with_unkeepable_name_exits_2_with_one_escaped_line(no_backend, capsys, tmp_path,
                                                                name, reason):
    good = make(tmp_path, "good.txt")
    bad = make(tmp_path, name)
    code, out, err = run_cli(capsys, "run", good, bad, "--output-dir", tmp_path / "out")
    assert code == 2
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith(f"topwords: error: {printable(str(bad))}: ")
    assert reason in line
    assert one_safe_line(line) and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_validate_inputs_blob_name_over_1024_characters_is_refused(tmp_path):
    deep = tmp_path.joinpath("a", *["d" * 200] * 6)
    deep.mkdir(parents=True)
    long_one = make(deep, "x.txt")  # blob name a/d..d/.../x.txt: 2 + 6 * 201 + 5
    other = make(tmp_path, "b.txt")
    with pytest.raises(InputError, match="1,213 characters long; Blob Storage allows 1,024"):
        validate_inputs([long_one, other])


def test_validate_inputs_result_name_over_1024_characters_is_refused(tmp_path):
    """The input's blob name fits (1,020), its result's (1,027) does not."""
    deep = tmp_path.joinpath("a", *["d" * 250] * 4)
    deep.mkdir(parents=True)
    long_one, other = make(deep, "x" * 10 + ".txt"), make(tmp_path, "b.txt")
    blob = os.path.relpath(long_one, tmp_path)
    assert len(blob) == 1020 and blob_name_problem(blob) is None
    assert len(output_name_for(blob)) == 1027
    with pytest.raises(InputError, match="1,027 characters long.*for its result"):
        validate_inputs([long_one, other])


def test_validate_inputs_more_than_254_segments_is_refused(tmp_path):
    deep = tmp_path.joinpath("a", *["d"] * 253)  # a/d/.../d/x.txt: 255 segments
    deep.mkdir(parents=True)
    with pytest.raises(InputError, match="255 path segments; Blob Storage allows 254"):
        validate_inputs([make(deep, "x.txt"), make(tmp_path, "b.txt")])


def test_validate_inputs_path_too_long_for_the_os_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="cannot read \\(File name too long\\)"):
        validate_inputs([tmp_path / ("n" * 300)])


def test_run_refusal_prints_on_an_ascii_terminal_without_unicode_errors(tmp_path):
    """Messages never raise UnicodeEncodeError, whatever the stream encoding."""
    bad = make(tmp_path, "zażółć \x1b.txt".encode())
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    done = subprocess.run([sys.executable, "-m", "topwords.cli", "run", os.fsencode(bad)],
                          capture_output=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode("ascii").splitlines() == [
        "topwords: error: " + str(tmp_path) + "/za\\u017c\\xf3\\u0142\\u0107 \\x1b.txt: it has "
        "the control character \\x1b, which blob names cannot hold; rename the file"]


# -- the property -----------------------------------------------------------

segment_bytes = st.one_of(
    st.binary(min_size=1, max_size=40),
    st.text(min_size=1, max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(st.sampled_from("a.-_ #%?\\\x1b\x7f\u0301😀\ue000\uffff"), min_size=1, max_size=8)
    .map(str.encode),
).map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")[:255]).filter(
    lambda b: b not in (b".", b".."))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(segment_bytes, min_size=1, max_size=3), min_size=1, max_size=3))
@example([[b"\xff.txt"]])
@example([[b"a."]])
@example([[b"ok", b"a\x1bb"], [b"c.txt"]])
@example([[b"..a"]])
def test_validate_inputs_any_name_accepts_a_good_blob_name_or_raises_input_error(paths):
    with tempfile.TemporaryDirectory() as tmp:
        created = []
        for i, segments in enumerate(paths):
            folder = os.path.join(os.fsencode(tmp), str(i).encode(), *segments[:-1])
            try:
                os.makedirs(folder, exist_ok=True)
                created.append(make(Path(os.fsdecode(folder)), segments[-1]))
            except OSError:  # the file system refuses it (e.g. it is a folder already)
                continue
        if not created:
            return
        try:
            items = validate_inputs(created)
        except InputError as exc:
            message = str(exc)
            message.encode("utf-8")  # printable on any UTF-8 stream, no surrogates
            assert len(message.splitlines()) == 1 and one_safe_line(message)
            return
        out = Path(tmp) / "out"
        for item in items:
            result = output_name_for(item.blob_name)
            assert is_good_blob_name(item.blob_name), item.blob_name
            assert is_good_blob_name(result), result
            assert blob_name_problem(item.blob_name) is None
            assert result == task.output_path_for(item.blob_name)
            assert out in safe_local_path(out, item.blob_name).parents
            assert out in safe_local_path(out, result).parents


@given(st.text(max_size=60))
def test_printable_any_text_is_one_encodable_line(text):
    shown = printable(text)
    shown.encode("utf-8")
    assert len(shown.splitlines()) <= 1
    assert shown == text or not text.isprintable()
