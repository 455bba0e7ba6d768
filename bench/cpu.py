"""CPU accounting from /proc for the benches (Linux only, standard library).

``CpuMeter`` snapshots the CPU time (user + system) of named groups of
processes, and of the whole machine, so a bench can say where the CPU of a
timed section went: our Python process, Azurite, dockerd, containerd, the
containerd shims of our node containers (with their reaped children: runc
and what ``docker exec`` ran), and everything that ran inside our node
containers (their cgroups: the node agent and the tasks).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

TICK = os.sysconf("SC_CLK_TCK")


def pid_cpu(pid: int, part: str = "self") -> float:
    """CPU seconds (user + system) of ``pid`` (``part="self"``), of its
    children that have exited and were waited for (``"children"``), or both
    (``"all"``). 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # after the ")": state=0 ... utime=11 stime=12 cutime=13 cstime=14
    own, reaped = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
    return {"self": own, "children": reaped, "all": own + reaped}[part] / TICK


def cgroup_cpu(container_id: str) -> float:
    """CPU seconds used so far by everything in a Docker container's cgroup
    (cgroup v1 cpuacct, or v2 cpu.stat); 0 if it cannot be read."""
    for path in (f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage",
                 f"/sys/fs/cgroup/cpu,cpuacct/docker/{container_id}/cpuacct.usage"):
        try:
            return int(Path(path).read_text()) / 1e9  # nanoseconds
        except (OSError, ValueError):
            pass
    for path in (f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat",
                 f"/sys/fs/cgroup/docker/{container_id}/cpu.stat"):
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        usec = next((l.split()[1] for l in lines if l.startswith("usage_usec ")), "0")
        return int(usec) / 1e6
    return 0.0


def processes() -> Iterable[tuple[int, str, list[str]]]:
    """(pid, comm, argv) of every process we can read."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        yield int(entry), comm, [a.decode(errors="replace") for a in argv if a]


def pids_named(comm: str) -> list[int]:
    return [pid for pid, name, _ in processes() if name == comm]


def group_pids(pgid: int) -> list[int]:
    """Every process of process group ``pgid`` (e.g. Azurite and its node child)."""
    found = []
    for pid, _, _ in processes():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after the ")": state ppid pgrp
            found.append(pid)
    return found


def shim_pids(container_ids: Iterable[str]) -> list[int]:
    """The ``containerd-shim-runc-v2`` processes of these containers."""
    wanted = set(container_ids)
    return [pid for pid, name, argv in processes() if name.startswith("containerd-shim")
            and any(a in wanted for a in argv)]


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return (total - idle) / TICK, total / TICK


class CpuMeter:
    """CPU seconds used by groups of processes between ``start`` and ``stop``.

    Args:
        groups: name -> function returning [(pid, part)] to add up, ``part``
            as in :func:`pid_cpu`, or [(container id, "cgroup")] for
            :func:`cgroup_cpu`; called at ``start`` and again at ``stop`` (a
            process that appears in between counts from 0; one that vanished
            in between is lost).
    """

    def __init__(self, groups: dict[str, Callable[[], list[tuple[int | str, str]]]]) -> None:
        self._groups = groups
        self._before: dict[str, dict[int | str, float]] = {}
        self._busy0 = (0.0, 0.0)
        self.used: dict[str, float] = {}
        self.machine_busy = 0.0
        self.machine_total = 0.0

    def _snapshot(self) -> dict[str, dict[int | str, float]]:
        return {name: {key: cgroup_cpu(key) if part == "cgroup" else pid_cpu(key, part)
                       for key, part in find()}
                for name, find in self._groups.items()}

    def start(self) -> "CpuMeter":
        self._before = self._snapshot()
        self._busy0 = machine_busy()
        return self

    def stop(self) -> dict[str, float]:
        after = self._snapshot()
        busy, total = machine_busy()
        self.machine_busy, self.machine_total = busy - self._busy0[0], total - self._busy0[1]
        self.used = {name: sum(cpu - self._before[name].get(pid, 0.0)
                               for pid, cpu in pids.items())
                     for name, pids in after.items()}
        return self.used
