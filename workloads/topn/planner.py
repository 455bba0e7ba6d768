"""The task graph of a top-N-words run: map tasks per input (or per part of
a large input) and one reduce task for the corpus-wide result.

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
  which result, and carries the write URL of each (only the reduce reads it).

Every argument, environment name and blob name comes from the node script's
own contract (``topwords.node.task``), so the two halves cannot drift.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, replace
from typing import Sequence

from topwords.core.inputs import InputFile
from topwords.core.model import ResourceFile, TaskConstraints, TaskSpec
from topwords.core.workload import Expected, Plan, TaskDefaults, Urls
from topwords.node import task as node

__all__ = ["REDUCE_TASK", "SCRIPT", "Shape", "plan_tasks"]

SCRIPT = "task.py"
REDUCE_TASK = "reduce"


@dataclass(frozen=True, kw_only=True)
class Shape:
    """What the user asked of the counting: words per result, case folding,
    and the size above which an input is counted in parts (None: never)."""

    top: int
    ignore_case: bool = False
    split_size: int | None = None


def plan_tasks(shape: Shape, inputs: Sequence[InputFile], urls: Urls,
               defaults: TaskDefaults) -> Plan:
    """Map tasks for every input (split when larger than ``split_size``)
    and the reduce task that depends on all of them."""
    tasks, outputs, counts, merges = [], [], [], []
    for i, (item, url) in enumerate(zip(inputs, urls.inputs)):
        parts = _parts(item.size, shape.split_size)
        result = node.result_blob_name(item.blob_name)
        if len(parts) == 1:
            blob = f"counts/{i}.tsv.gz"
            args = node.map_file_args(item.blob_name, shape.top, blob, shape.ignore_case)
            tasks.append(_task(f"topNtask{i}", args, urls, defaults,
                               resources=(ResourceFile(http_url=url, file_path=item.blob_name),),
                               env={node.OUTPUT_URL_ENV: urls.output_write(result),
                                    node.COUNTS_URL_ENV: urls.work_write(blob)}))
            outputs.append(Expected(blob=result, producers=[tasks[-1].id], input=item))
            counts.append(blob)
            continue
        mine = []
        for k, (start, end) in enumerate(parts):
            blob = f"counts/{i}.{k}.tsv.gz"
            args = node.map_range_args(node.INPUT_URL_ENV, start, end, blob, shape.ignore_case)
            tasks.append(_task(f"topNtask{i}-part{k}", args, urls, defaults,
                               env={node.INPUT_URL_ENV: url,
                                    node.COUNTS_URL_ENV: urls.work_write(blob)}))
            mine.append(blob)
        outputs.append(Expected(blob=result, input=item,
                                producers=[t.id for t in tasks[-len(parts):]] + [REDUCE_TASK]))
        counts.extend(mine)
        merges.append({"output_blob": result, "counts": mine, "url": urls.output_write(result)})
    merges.append({"output_blob": node.GLOBAL_OUTPUT, "counts": counts,
                   "url": urls.output_write(node.GLOBAL_OUTPUT)})
    manifest = {"numwords": shape.top, "outputs": merges}
    maps = tuple(t.id for t in tasks)
    resources = (ResourceFile(http_url=urls.work_read(node.MANIFEST), file_path=node.MANIFEST),
                 *(ResourceFile(http_url=urls.work_read(b), file_path=b) for b in counts))
    tasks.append(_task(REDUCE_TASK, node.reduce_args(), urls, defaults, resources=resources,
                       env={}, depends_on=maps))
    outputs.append(Expected(blob=node.GLOBAL_OUTPUT, producers=[REDUCE_TASK]))
    return Plan(tasks=tasks, outputs=outputs, work_blobs={node.MANIFEST: json.dumps(
        manifest, ensure_ascii=False, indent=1).encode("utf-8")})


def _parts(size: int, split_size: int | None) -> list[tuple[int, int]]:
    if not split_size or size <= split_size:
        return [(0, size)]
    return [(start, min(start + split_size, size)) for start in range(0, size, split_size)]


def command_line(args: Sequence[str]) -> str:
    """``/bin/bash -c 'python3 "$AZ_BATCH_NODE_SHARED_DIR/task.py" ARGS'``."""
    inner = f'python3 "$AZ_BATCH_NODE_SHARED_DIR/{SCRIPT}" ' + " ".join(
        shlex.quote(a) for a in args)
    return f"/bin/bash -c {shlex.quote(inner)}"


def _task(task_id: str, args: list[str], urls: Urls, defaults: TaskDefaults, *,
          resources: tuple[ResourceFile, ...] = (), env: dict[str, str],
          depends_on: tuple[str, ...] = ()) -> TaskSpec:
    return TaskSpec(
        id=task_id, command_line=command_line(args), resource_files=resources,
        output_files=tuple(replace(o, path=o.path.format(task=task_id)) for o in urls.logs),
        environment=env, depends_on=depends_on,
        constraints=TaskConstraints(max_task_retry_count=defaults.max_task_retries,
                                    max_wall_clock_time=defaults.timeout))
