"""Map-reduce on the node: byte-range parts of a file add up to exactly the
whole file's counts, counts files round-trip, the reduce merges them."""

from __future__ import annotations

import http.server
import json
import os
import re
import threading
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topwords.node import task

PIECES = ["word", "Wort", "słowo", "жёлтый", "“quoted”", "don't", "e-mail", "…", "—", "😀",
          "a\u00a0b", "x\u2009y", "\u3000", "\x1c", "\x85", " ", "  ", "\n", "\t", "\ufeff",
          ",", "it's.", "ÉCOLE", "école"]
BLOBS: dict[str, bytes] = {}


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """GET with Range support, like Blob Storage (206, or 416 past the end)."""

    def do_GET(self):  # noqa: N802
        data = BLOBS[self.path.split("?")[0]]
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        if not match:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        first, last = int(match[1]), min(int(match[2]), len(data) - 1)
        if first >= len(data):
            self.send_response(416)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = data[first:last + 1]
        self.send_response(206)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def whole(data: bytes, ignore_case=False) -> Counter:
    text = data.decode("utf-8", "replace")
    text = text[1:] if text.startswith("\ufeff") else text
    return task.normalize_counts(Counter(text.split()), ignore_case)


def parts_total(url: str, size: int, cuts: list[int], ignore_case=False) -> Counter:
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < size)), size]
    total: Counter = Counter()
    for start, end in zip(bounds, bounds[1:]):
        total.update(task.count_url_range(url, start, end, ignore_case))
    return total


texts = st.lists(st.sampled_from(PIECES) | st.binary(max_size=3), max_size=60).map(
    lambda xs: b"".join(x if isinstance(x, bytes) else x.encode() for x in xs))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=texts, cuts=st.lists(st.integers(0, 400), max_size=8), ignore_case=st.booleans())
def test_parts_cut_anywhere_add_up_to_the_whole_file(server, data, cuts, ignore_case):
    BLOBS["/c/f.txt"] = data
    assert parts_total(server + "/c/f.txt?sig=x", len(data), cuts, ignore_case) == \
        whole(data, ignore_case)


def test_part_reads_past_its_end_to_finish_a_long_token(server, monkeypatch):
    monkeypatch.setattr(task, "RANGE_WINDOW", 4)
    data = b"a " + b"x" * 50 + b" b"
    BLOBS["/c/long.txt"] = data
    url = server + "/c/long.txt"
    assert task.count_url_range(url, 0, 5) == Counter({"a": 1, "x" * 50: 1})
    assert task.count_url_range(url, 5, 30) == Counter()
    assert task.count_url_range(url, 30, len(data)) == Counter({"b": 1})


def test_counts_file_round_trips_and_merges(tmp_path):
    path = str(tmp_path / "counts" / "0.tsv.gz")
    task.write_counts({"b": 2, "a:b": 1, "ż": 3}, path)
    assert task.read_counts(path) == {"b": 2, "a:b": 1, "ż": 3}
    assert task.read_counts(path, {"b": 1}) == {"b": 3, "a:b": 1, "ż": 3}


def test_reduce_writes_each_output_from_its_counts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    task.write_counts({"x": 3, "y": 1}, "counts/0.0.tsv.gz")
    task.write_counts({"y": 5, "z": 1}, "counts/0.1.tsv.gz")
    task.write_counts({"x": 1}, "counts/1.tsv.gz")
    manifest = {"numwords": 2, "outputs": [
        {"output_blob": "big_OUTPUT.txt", "counts": ["counts/0.0.tsv.gz", "counts/0.1.tsv.gz"]},
        {"output_blob": "GLOBAL_OUTPUT.txt",
         "counts": ["counts/0.0.tsv.gz", "counts/0.1.tsv.gz", "counts/1.tsv.gz"]}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.delenv(task.SAS_ENV, raising=False)
    assert task.main(["reduce", "--manifest", "manifest.json"]) == 0
    assert "y:\t6\nx:\t3\n" in (tmp_path / "big_OUTPUT.txt").read_text()
    assert "y:\t6\nx:\t4\n" in (tmp_path / "GLOBAL_OUTPUT.txt").read_text()


def test_map_file_with_counts_blob_needs_the_counts_sas(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("a b b\n")
    monkeypatch.delenv(task.COUNTS_ENV, raising=False)
    monkeypatch.delenv(task.SAS_ENV, raising=False)
    code = task.main(["--filepath", "in.txt", "--numwords", "1", "--counts-blob", "c.tsv.gz"])
    assert code == 1 and task.COUNTS_ENV in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--url-env", "X", "--counts-blob", "c"], ["--url-env", "X", "--range", "5:2",
                                                "--counts-blob", "c"],
    ["--url-env", "X", "--range", "a:b", "--counts-blob", "c"], ["--numwords", "3"],
])
def test_bad_map_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        task.parse_args(argv)
    assert info.value.code == 2


def test_range_on_missing_url_env_is_one_line_error(monkeypatch, capsys):
    monkeypatch.delenv("NOPE", raising=False)
    assert task.main(["--url-env", "NOPE", "--range", "0:5", "--counts-blob", "c"]) == 1
    assert "NOPE" in capsys.readouterr().err
