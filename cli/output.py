"""Printing a run's result: a human summary or JSON (never a secret)."""

from __future__ import annotations

import json
from typing import TextIO

from topwords.core.workflow import InputResult, RunResult

__all__ = ["print_json", "print_summary", "result_json"]


def print_summary(result: RunResult, out: TextIO, backend: str, elapsed: float) -> None:
    """Per input: where its result is and its top words; then one total line
    with the wall-clock time of the whole command (``elapsed`` seconds)."""
    items = [*result.results, *([result.corpus] if result.corpus else [])]
    for item in items:
        print(f"{item.input.path}" if item.input else "all inputs together", file=out)
        if item.succeeded:
            print(f"  -> {item.output_file}", file=out)
            width = max((len(w) for w, _ in item.top_words), default=0)
            for word, count in item.top_words:
                print(f"  {word:<{width}}  {count}", file=out)
            if not item.top_words:
                print("  (no words)", file=out)
        else:
            print(f"  FAILED: {_failure(item)}", file=out)
            for line in item.stderr_tail.splitlines():
                print(f"  | {line}", file=out)
    ok = sum(r.succeeded for r in result.results)
    print(f"{ok} of {len(result.results)} input(s) succeeded on the {backend} backend "
          f"in {elapsed:.1f} s (run {result.run_id})", file=out)
    for error in result.cleanup_errors:
        print(f"warning: {error}", file=out)


def _failure(item: InputResult) -> str:
    task = item.task
    if task.state.value != "completed":
        return f"task {task.id} did not run: a task it depends on failed"
    if task.failure:
        return f"{task.failure.code}: {task.failure.message}"
    if task.succeeded:
        return item.problem or "the task succeeded but wrote no result file"
    return f"exit code {task.exit_code}"


def result_json(result: RunResult, backend: str, elapsed: float | None = None) -> dict:
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


def _item_json(item: InputResult) -> dict:
    task = item.task
    return {
        "input": str(item.input.path) if item.input else None,
        "blob": item.input.blob_name if item.input else None,
        "output_file": str(item.output_file) if item.output_file else None,
        "succeeded": item.succeeded,
        "top_words": [{"word": w, "count": c} for w, c in item.top_words],
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


def print_json(result: RunResult, out: TextIO, backend: str, elapsed: float) -> None:
    json.dump(result_json(result, backend, elapsed), out, indent=2, ensure_ascii=False)
    out.write("\n")
