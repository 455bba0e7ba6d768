"""The task graph of a run: map tasks per input (or per part of a large
input) and one reduce task for the corpus-wide result.

* An input no larger than ``split_size`` gets one task ``topNtask<i>``: it
  fetches the file as a resource file, writes and uploads the per-file
  result (the tutorial's task) and also uploads its full word counts
  (``counts/<i>.tsv.gz``, gzip of sorted ``word<TAB>count`` lines).
* A larger input gets one task per ``split_size`` bytes,
  ``topNtask<i>-part<k>``: each reads its own byte range of the blob over
  its read SAS (HTTP Range), cutting at whitespace, and uploads its counts.
* ``reduce`` depends on every map task (Batch task dependencies), merges the
  counts and writes the per-file result of each split input plus the
  corpus-wide ``GLOBAL_OUTPUT.txt``. Its manifest says which counts make
  which result.

The node side of these command lines is ``node/task.py``.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, replace
from typing import Callable

from .inputs import InputFile
from .model import OutputFile, ResourceFile, TaskConstraints, TaskSpec
from .naming import output_name_for

__all__ = ["GLOBAL_OUTPUT", "REDUCE_TASK", "TaskPlan", "TaskUrls", "plan_tasks"]

TASK_SCRIPT = "task.py"
GLOBAL_OUTPUT = "GLOBAL_OUTPUT.txt"
REDUCE_TASK = "reduce"
MANIFEST = "manifest.json"
#: environment settings that carry SAS URLs to the tasks: each a URL of the
#: one blob the task writes (create+write only), or reads
OUTPUT_URL_ENV = "TOPWORDS_OUTPUT_URL"
COUNTS_URL_ENV = "TOPWORDS_COUNTS_URL"
INPUT_URL_ENV = "TOPWORDS_INPUT_URL"


@dataclass(frozen=True, kw_only=True)
class TaskUrls:
    """The SAS URLs tasks need (signing needs no blob to exist yet). Every
    write URL is for one blob: a task can write its own results and nothing
    else (not another task's, not the manifest).

    Attributes:
        inputs: read SAS of each input blob, in input order.
        output_write: write SAS of one blob of the output container.
        counts_write: write SAS of one blob of the work container.
        counts_read: read SAS of one blob of the work container.
        logs: output files that upload a task's stdout/stderr (``{task}``
            in their path is the task id); empty if the backend has none.
    """

    inputs: list[str]
    output_write: Callable[[str], str]
    counts_write: Callable[[str], str]
    counts_read: Callable[[str], str]
    logs: tuple[OutputFile, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TaskPlan:
    """Tasks to add, which tasks make each input's result, the manifest."""

    tasks: list[TaskSpec]
    producers: list[list[str]]  # per input: its map task ids (+ reduce if split)
    manifest: dict


@dataclass(frozen=True, kw_only=True)
class PlanSettings:
    top: int
    ignore_case: bool
    split_size: int | None
    max_task_retries: int
    timeout: float


def plan_tasks(s: PlanSettings, inputs: list[InputFile], urls: TaskUrls) -> TaskPlan:
    """Map tasks for every input (split when larger than ``s.split_size``)
    and the reduce task that depends on all of them."""
    tasks, producers, counts, outputs = [], [], [], []
    for i, (item, url) in enumerate(zip(inputs, urls.inputs)):
        parts = _parts(item.size, s.split_size)
        if len(parts) == 1:
            blob = f"counts/{i}.tsv.gz"
            tasks.append(_map_file(s, i, item, url, blob, urls))
            producers.append([tasks[-1].id])
            counts.append(blob)
            continue
        mine = []
        for k, (start, end) in enumerate(parts):
            blob = f"counts/{i}.{k}.tsv.gz"
            tasks.append(_map_range(s, f"topNtask{i}-part{k}", url, start, end, blob, urls))
            mine.append(blob)
        producers.append([t.id for t in tasks[-len(parts):]] + [REDUCE_TASK])
        counts.extend(mine)
        result = output_name_for(item.blob_name)
        outputs.append({"output_blob": result, "counts": mine, "url": urls.output_write(result)})
    outputs.append({"output_blob": GLOBAL_OUTPUT, "counts": counts,
                    "url": urls.output_write(GLOBAL_OUTPUT)})
    manifest = {"numwords": s.top, "outputs": outputs}
    tasks.append(_reduce(s, [t.id for t in tasks], counts, urls))
    return TaskPlan(tasks=tasks, producers=producers, manifest=manifest)


def manifest_bytes(plan: TaskPlan) -> bytes:
    return json.dumps(plan.manifest, ensure_ascii=False, indent=1).encode("utf-8")


def _parts(size: int, split_size: int | None) -> list[tuple[int, int]]:
    if not split_size or size <= split_size:
        return [(0, size)]
    return [(start, min(start + split_size, size)) for start in range(0, size, split_size)]


def _command(*args: str) -> str:
    inner = f'python3 "$AZ_BATCH_NODE_SHARED_DIR/{TASK_SCRIPT}" ' + " ".join(
        shlex.quote(a) for a in args)
    return f"/bin/bash -c {shlex.quote(inner)}"


def _task(s: PlanSettings, task_id: str, args: list[str], urls: TaskUrls, *,
          resources: tuple[ResourceFile, ...] = (), env: dict[str, str],
          depends_on: tuple[str, ...] = ()) -> TaskSpec:
    if s.ignore_case and args[0] != "reduce":
        args.append("--ignore-case")
    return TaskSpec(
        id=task_id, command_line=_command(*args), resource_files=resources,
        output_files=tuple(replace(o, path=o.path.format(task=task_id)) for o in urls.logs),
        environment=env, depends_on=depends_on,
        constraints=TaskConstraints(max_task_retry_count=s.max_task_retries,
                                    max_wall_clock_time=s.timeout))


def _map_file(s: PlanSettings, i: int, item: InputFile, url: str, blob: str,
              urls: TaskUrls) -> TaskSpec:
    # --name=value: a file name starting with "-" is never taken for an option
    args = [f"--filepath={item.blob_name}", f"--numwords={s.top}", f"--counts-blob={blob}"]
    return _task(s, f"topNtask{i}", args, urls,
                 resources=(ResourceFile(http_url=url, file_path=item.blob_name),),
                 env={OUTPUT_URL_ENV: urls.output_write(output_name_for(item.blob_name)),
                      COUNTS_URL_ENV: urls.counts_write(blob)})


def _map_range(s: PlanSettings, task_id: str, url: str, start: int, end: int, blob: str,
               urls: TaskUrls) -> TaskSpec:
    args = [f"--url-env={INPUT_URL_ENV}", f"--range={start}:{end}", f"--counts-blob={blob}"]
    return _task(s, task_id, args, urls, env={INPUT_URL_ENV: url,
                                              COUNTS_URL_ENV: urls.counts_write(blob)})


def _reduce(s: PlanSettings, maps: list[str], counts: list[str], urls: TaskUrls) -> TaskSpec:
    """The manifest carries the write URL of each result the reduce makes;
    only this task can read the manifest."""
    resources = (ResourceFile(http_url=urls.counts_read(MANIFEST), file_path=MANIFEST),
                 *(ResourceFile(http_url=urls.counts_read(b), file_path=b) for b in counts))
    return _task(s, REDUCE_TASK, ["reduce", f"--manifest={MANIFEST}"], urls,
                 resources=resources, env={}, depends_on=tuple(maps))
