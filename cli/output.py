"""Printing a run's result: a human summary or JSON (never a secret).

Neither echoes a whole oversized word (a 200 MB "word" is a real input):
the summary shows the first ``SUMMARY_WORD`` characters and the length,
``--json`` the first ``JSON_WORD`` and ``word_length``. The result files on
disk keep every word whole. Names and task messages are shown with
``naming.printable`` (no control characters reach the terminal).
"""

from __future__ import annotations

import json
from typing import TextIO

from topwords.core.naming import printable
from topwords.core.run import Result
from topwords.workloads.topn import TopWordsResult

__all__ = ["JSON_WORD", "SUMMARY_WORD", "print_json", "print_summary", "result_json"]

#: characters of a word the summary shows
SUMMARY_WORD = 64
#: characters of a word ``--json`` keeps (``word_length`` has its length)
JSON_WORD = 1000
#: characters of one line of a failed task's stderr the summary shows
SUMMARY_LINE = 300


def _cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text):,} chars)"


def print_summary(result: TopWordsResult, out: TextIO, backend: str, elapsed: float) -> None:
    """Per input: where its result is and its top words; then one total line
    with the wall-clock time of the whole command (``elapsed`` seconds)."""
    items = [*result.results, *([result.corpus] if result.corpus else [])]
    for item in items:
        print(printable(str(item.input.path)) if item.input else "all inputs together",
              file=out)
        if item.succeeded:
            print(f"  -> {printable(str(item.output_file))}", file=out)
            rows = [(printable(_cut(w, SUMMARY_WORD)), c) for w, c in item.value or ()]
            width = max((len(w) for w, _ in rows), default=0)
            for word, count in rows:
                print(f"  {word:<{width}}  {count}", file=out)
            if not rows:
                print("  (no words)", file=out)
        else:
            print(f"  FAILED: {printable(_cut(_failure(item), SUMMARY_LINE))}", file=out)
            for line in item.stderr_tail.splitlines():
                print(f"  | {printable(_cut(line, SUMMARY_LINE))}", file=out)
    ok = sum(r.succeeded for r in result.results)
    print(f"{ok} of {len(result.results)} input(s) succeeded on the {backend} backend "
          f"in {elapsed:.1f} s (run {result.run_id})", file=out)
    for error in result.cleanup_errors:
        print(f"warning: {printable(error)}", file=out)


def _failure(item: Result) -> str:
    task = item.task
    if task.state.value != "completed":
        return f"task {task.id} did not run: a task it depends on failed"
    if task.failure:
        return f"{task.failure.code}: {task.failure.message}"
    if task.succeeded:
        return item.problem or "the task succeeded but wrote no result file"
    return f"exit code {task.exit_code}"


def result_json(result: TopWordsResult, backend: str, elapsed: float | None = None) -> dict:
    """The run as plain data (paths, words, task states; no URLs)."""
    return {
        "run_id": result.run_id,
        "backend": backend,
        "succeeded": result.succeeded,
        "inputs": [_item_json(item) for item in result.results],
        "corpus": _item_json(result.corpus) if result.corpus else None,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
        "elapsed": None if elapsed is None else round(elapsed, 3),
        "cleanup_errors": result.cleanup_errors,
    }


def _item_json(item: Result) -> dict:
    task = item.task
    return {
        "input": str(item.input.path) if item.input else None,
        "blob": item.input.blob_name if item.input else None,
        "output_file": str(item.output_file) if item.output_file else None,
        "succeeded": item.succeeded,
        "top_words": [{"word": w[:JSON_WORD], "count": c, "word_length": len(w)}
                      for w, c in item.value or ()],
        "task": {
            "id": task.id, "state": task.state.value, "exit_code": task.exit_code,
            "result": task.result.value if task.result else None,
            "retry_count": task.retry_count, "node_id": task.node_id,
            "failure": ({"code": task.failure.code, "message": task.failure.message}
                        if task.failure else None),
        },
        "stderr_tail": item.stderr_tail or None,
        "problem": item.problem or None,
    }


def print_json(result: TopWordsResult, out: TextIO, backend: str, elapsed: float) -> None:
    """Non-ASCII as it is when ``out`` can encode it, else as JSON escapes
    (an ASCII terminal, a path with bytes that are not UTF-8), so that the
    output is valid JSON either way."""
    data = result_json(result, backend, elapsed)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    try:
        text.encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(data, indent=2, ensure_ascii=True)
    out.write(text + "\n")
