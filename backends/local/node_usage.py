"""What a node uses: CPU time and memory, read where they can be measured,
for the autoscale samples ``$CPUPercent`` and ``$MemoryBytes``.

* A container node: Docker's one-shot stats of its container (its cgroup:
  the agent and every task it runs; not the containers of container tasks,
  which run beside it in cgroups of their own).
* A process node: ``/proc`` of the agent's process tree (the agent, its
  live descendants, and the children each of them has reaped).

Both give the CPU seconds used since the node started and the memory in use
now; :class:`UsageMeter` turns successive readings into a CPU percentage.
Nothing here raises: a node that cannot be measured reads as None.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NodeUsage", "UsageMeter", "docker_usage", "process_tree_usage"]

_PROC = Path("/proc")


@dataclass(frozen=True)
class NodeUsage:
    """CPU seconds a node used since it started, and bytes of memory it uses."""

    cpu_seconds: float
    memory_bytes: int


def docker_usage(api, container_id: str) -> NodeUsage | None:
    """The usage of a container from one Docker stats call (no wait), or None.

    Memory is what ``docker stats`` shows: usage less the inactive file
    cache (``total_inactive_file`` on cgroup v1, ``inactive_file`` on v2).
    """
    try:
        stats = api.stats(container_id, stream=False, one_shot=True)
        cpu = stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
        memory = stats["memory_stats"]
        detail = memory.get("stats", {})
        cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
        return NodeUsage(cpu, max(0, int(memory["usage"]) - int(cache)))
    except Exception:  # noqa: BLE001 - a node gone, paused or Docker away: unmeasured
        return None


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(parent pid, CPU clock ticks with reaped children, resident bytes) of one process."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # fields[0] is field 3, the state
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return int(fields[1]), ticks, int(fields[21]) * os.sysconf("SC_PAGE_SIZE")


def process_tree_usage(root: int) -> NodeUsage | None:
    """The usage of ``root`` and its live descendants, or None (it is gone)."""
    processes = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            processes[int(entry.name)] = stat
    if root not in processes:
        return None
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    ticks, memory, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        _, used, rss = processes[pid]
        ticks, memory = ticks + used, memory + rss
        todo.extend(children.get(pid, ()))
    return NodeUsage(ticks / os.sysconf("SC_CLK_TCK"), memory)


@dataclass
class UsageMeter:
    """The CPU percentage of each node between two readings, averaged.

    ``cpus``: the CPUs a node may use (every node may use all of the host's).
    """

    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    _last: dict[str, tuple[float, float]] = field(default_factory=dict)

    def read(self, usage: dict[str, NodeUsage | None],
             now: float | None = None) -> dict[str, float]:
        """``$CPUPercent`` (mean over the nodes read before, 0-100) and
        ``$MemoryBytes`` (mean megabytes, as the service reports it) from
        this reading of each node's usage; a metric with no node to measure
        is left out. Nodes not in ``usage`` are forgotten."""
        now = time.monotonic() if now is None else now
        percents, megabytes = [], []
        for node, reading in usage.items():
            if reading is None:
                self._last.pop(node, None)
                continue
            megabytes.append(reading.memory_bytes / 2**20)
            before = self._last.get(node)
            if before is not None and now > before[0] and reading.cpu_seconds >= before[1]:
                share = (reading.cpu_seconds - before[1]) / ((now - before[0]) * self.cpus)
                percents.append(min(100.0, 100.0 * share))
            self._last[node] = (now, reading.cpu_seconds)
        for node in set(self._last) - set(usage):
            del self._last[node]
        metrics = {}
        if percents:
            metrics["$CPUPercent"] = sum(percents) / len(percents)
        if megabytes:
            metrics["$MemoryBytes"] = sum(megabytes) / len(megabytes)
        return metrics
