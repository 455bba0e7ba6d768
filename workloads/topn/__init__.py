"""The top-N-words workload: the tutorial's job, as one unit.

* planner (``planner``): a map task per input (or per part of a large one)
  and a reduce task for the corpus-wide result;
* node script: ``topwords.node.task`` (``node/task.py``, one stdlib-only
  file every node gets in its shared directory), which also holds the
  contract both halves share (arguments, environment names, result names,
  the report format);
* result reader: ``node.task.parse_report``.

``run_top_words`` runs it through the generic Batch run (``core.run``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

from topwords.core.backend import Backend
from topwords.core.errors import ConfigError, InputError
from topwords.core.inputs import InputFile
from topwords.core.ledger import Ledger
from topwords.core.naming import blob_name_problem, printable
from topwords.core.run import Progress, Result, RunSettings, run_batch
from topwords.core.workload import AppFile, Plan, TaskDefaults, Urls, Workload
from topwords.node import task as node

from .planner import REDUCE_TASK, SCRIPT, Shape, plan_tasks

__all__ = ["REDUCE_TASK", "TopWords", "TopWordsResult", "run_top_words"]

_SNIFF_BYTES = 8192


class TopWords(Workload):
    """Count the top ``top`` words of each input and of all together.

    Args:
        top: words per result (>= 1).
        ignore_case: fold case before counting.
        split_size: inputs larger than this many bytes are counted in parts
            (None: never).
    """

    name = "top-N words"
    uses_task_dependencies = True

    def __init__(self, top: int = 3, ignore_case: bool = False,
                 split_size: int | None = None) -> None:
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise ConfigError(f"top must be a whole number >= 1, got {top!r}")
        if split_size is not None and split_size < 1:
            raise ConfigError("split_size must be at least 1 byte")
        self.shape = Shape(top=top, ignore_case=ignore_case, split_size=split_size)

    def app_files(self) -> list[AppFile]:
        return [AppFile(name=SCRIPT, path=Path(str(resources.files("topwords.node") / SCRIPT)))]

    def check(self, inputs: Sequence[InputFile]) -> None:
        """Text files only, whose result names work: ``<stem>_OUTPUT<ext>``
        must be a valid blob name too, and not the corpus-wide result's."""
        for item in inputs:
            show = printable(str(item.path))
            result = node.result_blob_name(item.blob_name)
            problem = blob_name_problem(result)
            if problem:
                raise InputError(f"{show}: {problem} (for its result, named "
                                 "<name>_OUTPUT<ext>); rename the file")
            if result == node.GLOBAL_OUTPUT:
                raise InputError(f"{show}: its result would be {node.GLOBAL_OUTPUT}, the name "
                                 "of the corpus-wide result; rename the file")
            try:
                with open(item.path, "rb") as f:
                    head = f.read(_SNIFF_BYTES)
            except OSError as exc:
                raise InputError(f"{show}: cannot read ({exc.strerror})") from None
            if b"\0" in head:
                raise InputError(f"{show} looks like a binary file (it has NUL bytes); "
                                 "topwords counts words in text files")

    def plan(self, inputs: Sequence[InputFile], urls: Urls, defaults: TaskDefaults) -> Plan:
        return plan_tasks(self.shape, inputs, urls, defaults)

    def read(self, path: Path) -> list[tuple[str, int]]:
        return node.parse_report(path.read_text(encoding="utf-8"))


@dataclass(frozen=True, kw_only=True)
class TopWordsResult:
    """A top-N run's outcome: one result per input (``value``: its
    ``(word, count)`` rows, best first), in input order, and ``corpus``, the
    top words of all inputs together."""

    run_id: str
    results: list[Result]
    corpus: Result
    timings: dict[str, float]
    cleanup_errors: list[str]

    @property
    def succeeded(self) -> bool:
        return all(r.succeeded for r in self.results) and self.corpus.succeeded


def run_top_words(backend: Backend, inputs: Sequence[InputFile], settings: RunSettings,
                  workload: TopWords | None = None, progress: Progress | None = None,
                  ledger: Ledger | None = None) -> TopWordsResult:
    """Run the top-N-words job over ``inputs`` (see ``core.run.run_batch``)."""
    done = run_batch(backend, workload or TopWords(), inputs, settings, progress, ledger)
    return TopWordsResult(run_id=done.run_id, results=done.results[:-1],
                          corpus=done.results[-1], timings=done.timings,
                          cleanup_errors=done.cleanup_errors)
