"""Summarise a py-spy ``--format raw`` profile of bench/engine.py (collapsed
stacks, one ``frame;frame;... count`` line per distinct stack, root first).

Two views of the same samples:

* by engine step: the first step (in ``STEPS`` order, most specific first)
  that some frame of the stack names: a step of a task's life (the node agent's
  round trip; with the docker exec fallback exec_create, exec_start, the
  output stream, exec_inspect; task directories, scheduling)
  or of the waiting client (add_tasks, wait_for_tasks polling);
* by library: the innermost frame's module (json, http.client, socket,
  urllib3, requests, docker, threading, topwords, ...), i.e. self time.
"""

from __future__ import annotations

import re
from collections import Counter

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::\d+)?\)$")

#: (step, predicate on (function, file)), tried in this order: a stack counts
#: for the first step that any of its frames matches.
STEPS = (
    ("client: wait_for_tasks polling (list_tasks, TaskInfo)",
     lambda f, p: f.endswith("wait_for_tasks")),
    ("client: add_tasks (specs, validation)", lambda f, p: f.endswith("add_tasks")),
    ("docker exec_create (POST, JSON)", lambda f, p: f.endswith("exec_create")),
    ("docker exec_start (POST, connection upgrade)", lambda f, p: f.endswith("exec_start")),
    ("docker output stream (frames, demux, file writes)",
     lambda f, p: p.endswith("docker/utils/socket.py") or "frames_iter" in f),
    ("docker exec_inspect (GET, JSON)", lambda f, p: f.endswith("exec_inspect")),
    ("completion + scheduling (_task_done, _dispatch)",
     lambda f, p: f.endswith(("_task_done", "_dispatch"))),
    ("task start bookkeeping (lock, start_time)", lambda f, p: f.endswith("_started")),
    ("task directories (rmtree, mkdir) + env",
     lambda f, p: f.endswith(("rmtree", "mkdir", "task_env", "NodeLayout.task"))),
    ("node agent round trip (AgentClient: connect, JSON, wait)",
     lambda f, p: p.endswith("agent_client.py")),
    ("DockerNode.run, other (open files, timer)", lambda f, p: f.endswith("DockerNode.run")),
    ("thread pool (queue, worker wake-up)",
     lambda f, p: f.endswith("_worker") and p.endswith("thread.py")),
)


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for raw in stack.split(";"):
        match = _FRAME.match(raw.strip())
        out.append((match["func"], match["file"]) if match else (raw.strip(), ""))
    return out


def _step(frames: list[tuple[str, str]]) -> str:
    for name, test in STEPS:  # the most specific step first
        if any(test(func, path) for func, path in frames):
            return name
    if any(f.endswith("TaskRunner.run") or f == "run" and "task_runner" in p
           for f, p in frames):
        return "TaskRunner.run, other"
    return "other (GC, interpreter, ...)"


def _library(frames: list[tuple[str, str]]) -> str:
    func, path = frames[-1]
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if path.split("/", 1)[0] in ("topwords", "backends", "core", "cli", "node"):
        return "topwords"
    if "/" in path:
        return path.split("/", 1)[0]  # a stdlib package: json/, http/, concurrent/
    return path.removesuffix(".py") or func


def parse(text: str) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((_frames(stack), int(count)))
    return stacks


def summarise(text: str, tasks: int, rate: int = 250) -> str:
    """A printable summary; ``rate`` is the sampling rate in Hz."""
    stacks = parse(text)
    total = sum(c for _, c in stacks)
    if not total:
        return "  (no samples)"
    steps, libs, leaves = Counter(), Counter(), Counter()
    for frames, count in stacks:
        steps[_step(frames)] += count
        libs[_library(frames)] += count
        leaves[f"{frames[-1][0]} ({frames[-1][1]})"] += count
    per_task = 1000 / rate / tasks
    lines = [f"  {total} samples of the thread holding the GIL = {total / rate:.2f} s "
             f"= {total * per_task:.2f} ms per task"]
    for title, counter, n in (("by engine step", steps, 12),
                              ("by library of the innermost frame (self time)", libs, 12),
                              ("top innermost frames", leaves, 12)):
        lines.append(f"  {title}:")
        for name, count in counter.most_common(n):
            lines.append(f"    {count / total:6.1%} {count * per_task:7.2f} ms/task  {name}")
    return "\n".join(lines)
