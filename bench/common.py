"""What the bench scripts share: the machine lines, and the machine-readable
result (``--json-out FILE``) that ``bench/run.py`` builds its summary from.

A result is one JSON object::

    {"section": "engine", "failures": [...], "rows": [row, ...]}

and a row is one figure of the summary table (see :func:`figure`): a value
measured in this run, the same-run baseline it is compared with, their ratio
(value / baseline), the target and the verdict. Numbers are never written
here by hand: every row is built from what the script measured.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path


def machine() -> list[str]:
    """Two lines: cores, memory, CPU model; Docker, Python, load average."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines()
                  if l.startswith("model name")), platform.machine())
    mem_kb = int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines()
                      if l.startswith("MemTotal")))
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                            capture_output=True, text=True, check=False)
    return [f"nproc {os.cpu_count()}, memory {mem_kb / 2**20:.1f} GiB, CPU {model}",
            f"Docker server {docker.stdout.strip() or '?'}, Python {platform.python_version()} "
            f"({sys.executable}), load average {os.getloadavg()[0]:.2f}"]


def figure(name: str, value: float, unit: str, *, baseline: str = "",
           baseline_value: float | None = None, target: str = "",
           verdict: bool | None = None) -> dict:
    """One summary row. ``unit`` is shared by the value and the baseline;
    ``verdict`` None means information only (no target)."""
    ratio = value / baseline_value if baseline_value else None
    return {"figure": name, "value": value, "unit": unit, "baseline": baseline,
            "baseline_value": baseline_value, "ratio": ratio, "target": target,
            "verdict": None if verdict is None else ("PASS" if verdict else "MISS")}


#: what went wrong in this run (each section is its own process)
FAILURES: list[str] = []


def fail(message: str) -> None:
    """Record a failure (a failed task or transfer, a leftover) and say it now."""
    FAILURES.append(message)
    print(f"\n!!! FAILURE: {message}\n", file=sys.stderr, flush=True)


def write_result(path: Path | None, section: str, rows: list[dict],
                 failures: list[str]) -> None:
    """Write the ``--json-out`` file (nothing if ``path`` is None)."""
    if path is not None:
        Path(path).write_text(json.dumps({"section": section, "failures": failures,
                                          "rows": rows}, indent=1), encoding="utf-8")


def finish(path: Path | None, section: str, rows: list[dict], success: str) -> int:
    """Write the result, list the failures; the script's exit code."""
    write_result(path, section, rows, FAILURES)
    if FAILURES:
        print(f"\n!!! {len(FAILURES)} FAILURE(S):", *FAILURES, sep="\n!!! ")
        return 1
    print(f"\n{success}")
    return 0
