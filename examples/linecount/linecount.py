"""A second, tiny workload: lines and bytes per file.

It shows what adding a workload takes: one class (app files, a plan, a
reader) and one node script, run through the same generic Batch run as
the top-N words, on any backend::

    from topwords.core import registry, run_batch, RunSettings, validate_inputs
    with registry.create("local") as backend:
        done = run_batch(backend, LineCount(), validate_inputs(files),
                         RunSettings(output_dir=Path("out")))
    for result in done.results:
        print(result.input.path, result.value)      # (lines, bytes)
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

from topwords.core.model import ResourceFile, TaskConstraints, TaskSpec
from topwords.core.workload import AppFile, Expected, Plan, Workload

SCRIPT = Path(__file__).with_name("count_lines.py")


class LineCount(Workload):
    """One task per input; each result is ``(lines, bytes)``."""

    name = "line count"

    def app_files(self):
        return [AppFile(name=SCRIPT.name, path=SCRIPT)]

    def plan(self, inputs, urls, defaults):
        tasks, outputs = [], []
        for i, (item, url) in enumerate(zip(inputs, urls.inputs)):
            result = f"{item.blob_name}.lines"
            inner = (f'python3 "$AZ_BATCH_NODE_SHARED_DIR/{SCRIPT.name}" '
                     f"{shlex.quote(item.blob_name)}")
            tasks.append(TaskSpec(
                id=f"count{i}", command_line=f"/bin/bash -c {shlex.quote(inner)}",
                resource_files=(ResourceFile(http_url=url, file_path=item.blob_name),),
                environment={"RESULT_URL": urls.output_write(result)},
                output_files=tuple(replace(o, path=o.path.format(task=f"count{i}"))
                                   for o in urls.logs),
                constraints=TaskConstraints(max_task_retry_count=defaults.max_task_retries,
                                            max_wall_clock_time=defaults.timeout)))
            outputs.append(Expected(blob=result, producers=[tasks[-1].id], input=item))
        return Plan(tasks=tasks, outputs=outputs)

    def read(self, path):
        lines, size = path.read_text(encoding="ascii").split()
        return int(lines), int(size)
