"""The Workload interface: what a generic Batch run (``core.run``) runs.

A workload is one unit of three parts that only make sense together: the
planner (the task graph for some input files), the node script(s) that run
in those tasks, and the reader of the results they upload. The run knows
nothing of what the tasks compute; it stages the app files and the inputs,
signs the URLs the planner asks for, creates the pool (whose StartTask puts
the app files in every node's shared directory), the job and the tasks,
waits, and downloads the results the plan names, each read back by the
workload.

``topwords.workloads.topn`` is the top-N-words workload; ``examples/``
has a second, tiny one (line counts) that runs through the same run.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .inputs import InputFile
from .model import OutputFile, TaskSpec

__all__ = ["AppFile", "Expected", "Plan", "TaskDefaults", "Urls", "Workload"]


@dataclass(frozen=True, kw_only=True)
class AppFile:
    """A file every node gets in ``$AZ_BATCH_NODE_SHARED_DIR/<name>``."""

    name: str
    path: Path


@dataclass(frozen=True, kw_only=True)
class Urls:
    """The SAS URLs the planner may hand to tasks (signing needs no blob to
    exist yet). Every write URL is for one blob: a task can write its own
    results and nothing else.

    Attributes:
        inputs: read SAS of each input blob, in input order.
        output_write: write SAS of one blob of the output container.
        work_write: write SAS of one blob of the work container.
        work_read: read SAS of one blob of the work container (what the
            plan's ``work_blobs`` and tasks write there).
        logs: output files that upload a task's stdout/stderr (``{task}`` in
            their path is the task id); empty if the backend has none.
    """

    inputs: list[str]
    output_write: Callable[[str], str]
    work_write: Callable[[str], str]
    work_read: Callable[[str], str]
    logs: tuple[OutputFile, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TaskDefaults:
    """What every task of the run gets: retries and a wall-clock limit."""

    max_task_retries: int
    timeout: float


@dataclass(frozen=True, kw_only=True)
class Expected:
    """A result the run downloads: its blob in the output container, the
    tasks that make it (the first that failed, else the last, decides its
    outcome) and the input it belongs to (None: one of all inputs)."""

    blob: str
    producers: Sequence[str]
    input: InputFile | None = None


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The tasks to add, the results to download, and blobs to put in the
    work container before the tasks run (a manifest, say)."""

    tasks: list[TaskSpec]
    outputs: list[Expected]
    work_blobs: dict[str, bytes] = field(default_factory=dict)


class Workload(abc.ABC):
    """A job of tasks over input files (see the module docstring).

    Attributes:
        name: a short name for messages.
        uses_task_dependencies: its tasks have ``depends_on``.
    """

    name: str = "workload"
    uses_task_dependencies: bool = False

    @abc.abstractmethod
    def app_files(self) -> Sequence[AppFile]:
        """The scripts (and other files) every node needs.

        Idempotent: yes.
        """

    def check(self, inputs: Sequence[InputFile]) -> None:
        """Refuse inputs this workload cannot take, before anything is made.

        Raises:
            InputError: one line naming the input and why.
        Idempotent: yes. The default takes every input.
        """

    @abc.abstractmethod
    def plan(self, inputs: Sequence[InputFile], urls: Urls, defaults: TaskDefaults) -> Plan:
        """The task graph for ``inputs``; command lines reach the app files
        at ``$AZ_BATCH_NODE_SHARED_DIR/<name>``.

        Idempotent: yes (pure: it signs nothing itself, ``urls`` does).
        """

    @abc.abstractmethod
    def read(self, path: Path) -> object:
        """A downloaded result, read back.

        Raises:
            ValueError (or OSError): it is not a result of this workload.
        """
