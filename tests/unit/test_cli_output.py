"""The summary and --json never echo a whole oversized word, show names
without control characters and print on any terminal encoding."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from topwords.cli import main as cli
from topwords.cli.output import JSON_WORD, SUMMARY_WORD, print_json, print_summary
from topwords.core.inputs import InputFile
from topwords.core.model import FailureInfo, TaskInfo, TaskResult, TaskState
from topwords.core.run import Result
from topwords.core.workload import Expected
from topwords.workloads.topn import TopWordsResult

HUGE = "x" * 2_000_000  # one "word" of 2 MB (the user's was 200 MB)


def done(task_id: str) -> TaskInfo:
    return TaskInfo(id=task_id, state=TaskState.COMPLETED, exit_code=0,
                    result=TaskResult.SUCCESS)


def run_result(words: list[tuple[str, int]], path: str = "in/a.txt",
               **failed) -> TopWordsResult:
    expected = Expected(blob="a_OUTPUT.txt", producers=["topNtask0"],
                        input=InputFile(path=Path(path), blob_name="a.txt", size=1))
    item = Result(expected=expected, task=done("topNtask0"),
                  output_file=Path("out/a_OUTPUT.txt"), value=words)
    if failed:
        item = Result(expected=expected, output_file=None, value=[], **failed)
    corpus = Result(expected=Expected(blob="G.txt", producers=["reduce"]), task=done("reduce"),
                    output_file=Path("out/G.txt"), value=words)
    return TopWordsResult(run_id="r1", results=[item], corpus=corpus, timings={},
                          cleanup_errors=[])


def test_print_summary_huge_word_shows_its_start_and_length():
    out = io.StringIO()
    print_summary(run_result([(HUGE, 1), ("small", 1)]), out, "local", 1.0)
    text = out.getvalue()
    assert len(text) < 2_000
    assert f"{'x' * SUMMARY_WORD}…(2,000,000 chars)" in text
    assert "  small" in text and "x" * (SUMMARY_WORD + 1) not in text


def test_print_json_huge_word_is_cut_and_keeps_its_length():
    out = io.StringIO()
    print_json(run_result([(HUGE, 3), ("small", 2)]), out, "local", 1.0)
    assert len(out.getvalue()) < 3 * JSON_WORD + 2_000
    data = json.loads(out.getvalue())
    for item in (data["inputs"][0], data["corpus"]):
        assert item["top_words"] == [
            {"word": "x" * JSON_WORD, "count": 3, "word_length": 2_000_000},
            {"word": "small", "count": 2, "word_length": 5}]


def test_print_summary_control_characters_in_words_and_messages_are_escaped():
    out = io.StringIO()
    failure = FailureInfo(category="usererror", code="TaskFailed", message="bad \x1b[2J thing")
    print_summary(run_result([("red\x1b[31m", 1)]), out, "local", 1.0)
    print_summary(run_result([], path="in/\udcff.txt",
                             task=TaskInfo(id="t", state=TaskState.COMPLETED, exit_code=1,
                                           result=TaskResult.FAILURE, failure=failure),
                             stderr_tail="line one\x07\n" + "y" * 5_000), out, "local", 1.0)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert "red\\x1b[31m" in text and "bad \\x1b[2J thing" in text and "in/\\xff.txt" in text
    assert "y" * 301 not in text
    text.encode("utf-8")  # no lone surrogate reaches the stream


def test_print_json_ascii_stream_gets_valid_json_with_escapes():
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    print_json(run_result([("zażółć", 1), ("😀", 1)], path="in/\udcff ü.txt"), out, "local", 1.0)
    out.flush()
    data = json.loads(raw.getvalue().decode("ascii"))
    assert [w["word"] for w in data["inputs"][0]["top_words"]] == ["zażółć", "😀"]
    assert data["inputs"][0]["input"] == "in/\udcff ü.txt"  # fsencode() gives the bytes back


def test_main_makes_an_ascii_stdout_print_escapes_instead_of_failing(monkeypatch):
    raw = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(raw, encoding="ascii"))
    monkeypatch.setattr(cli, "_run", lambda args: print("jaźń 😀") or 0)
    assert cli.main(["run", "x"]) == 0
    cli.sys.stdout.flush()
    assert raw.getvalue() == b"ja\\u017a\\u0144 \\U0001f600\n"


@pytest.mark.parametrize("word", ["a", "x" * SUMMARY_WORD])
def test_print_summary_word_up_to_the_limit_is_shown_whole(word):
    out = io.StringIO()
    print_summary(run_result([(word, 7)]), out, "local", 1.0)
    assert f"  {word}  7\n" in out.getvalue() and "chars)" not in out.getvalue()
