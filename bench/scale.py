"""Scale benchmark: `topwords run --backend local` on jobs of growing size.

    .venv/bin/python bench/scale.py [--quick] [--sizes 500,2000,5000] [--nodes 2 --slots 4]
                                    [--json-out FILE]

One `topwords run --top 3 --json --quiet` per size (full: 500, 2,000 and
5,000 generated files, bench/pipeline.py's ``make_files``; ``--quick``: 50
and 150), each on a pool of ``--nodes`` x ``--slots`` (default 2x4: the
engine's best shape in bench/engine.py; with one slot per node a task's own
latency, not the machine, bounds the job). Per size it prints:

* the wall time of the command and tasks/s end to end (map tasks + the
  reduce, over that wall time), and the stages of its JSON ``timings``;
* CPU ms per task of the client (the `topwords` process, from ``wait4``),
  of Azurite, and of the whole machine (anyone's: node containers, Docker,
  other work on the machine), and the client's peak RSS (``ru_maxrss``).

Azurite is started once by this script and passed with ``--azurite-url``,
so the client's CPU and peak memory are its own (a private Azurite is a
child of the client: its CPU and RSS would count as the client's).

Baselines, measured in this run, on a pool of the same shape driven
through ``LocalBatchEngine`` (bench/engine.py's ``run_job``): a job of
``true`` tasks (the engine's own rate, the ceiling of any job), and one of
``python3 -c pass`` tasks (the ceiling of a job whose tasks each start a
Python, as topwords' map tasks do), each before and after the runs (the
machine is shared: their mean is the baseline).

Summary figures: tasks/s end to end per size against the engine's `true`
rate (target >= 100/s at the largest size, the issue's goal); linearity,
the wall time per task at the largest size over that at the smallest
(target <= 1.3: a job whose cost grows linearly has the same time per task
at every size, or less, since its fixed costs are spread wider; 1.3 leaves
room for the noise of a shared 2-core machine while an O(N^2) cost, e.g.
O(N) work per completion, shows as >= 2x over a 10x larger job); the same
ratio for the client's CPU per task (target <= 1.3); and how much client
memory each file adds (KB per file between the smallest and the largest).

Every run must succeed and leave no container of its own; otherwise
``!!! FAILURE`` and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import fail, figure, finish, machine  # bench/common.py
from cpu import group_pids, machine_busy, pid_cpu  # bench/cpu.py
from pipeline import TOPWORDS, check_no_leftovers, make_files  # bench/pipeline.py

FULL_SIZES, QUICK_SIZES = (500, 2000, 5000), (50, 150)
TARGET_RATE = 100.0  # tasks/s end to end at the largest size
TARGET_LINEAR = 1.3  # time (and client CPU) per task, largest size / smallest
BASELINES = {"true": "true", "python3 -c pass": "python3 -c pass"}


@dataclass
class Run:
    """One `topwords run` of ``files`` inputs (``files + 1`` tasks)."""

    files: int
    wall: float
    client_cpu: float
    client_rss_mb: float
    azurite_cpu: float
    machine_cpu: float
    timings: dict

    @property
    def tasks(self) -> int:
        return self.files + 1  # the map tasks and the reduce

    @property
    def rate(self) -> float:
        return self.tasks / self.wall

    def ms_per_task(self, seconds: float) -> float:
        return 1000 * seconds / self.tasks


def azurite_cpu(server) -> float:
    pids = group_pids(server._process.pid)  # its process group: the node process
    return sum(pid_cpu(p) for p in pids)


def topwords_run(files: list[Path], out: Path, azurite, shape: tuple[int, int],
                 work: Path) -> Run | None:
    """One `topwords run --json`, measured; None if it failed (and said so)."""
    argv = [TOPWORDS, "run", "--backend", "local", "--top", "3", "--json", "--quiet",
            "--nodes", str(shape[0]), "--slots", str(shape[1]),
            "--timeout", str(max(1200, 600 + len(files))), "--azurite-url",
            azurite.blob_url, "--output-dir", str(out), *map(str, files)]
    env = dict(os.environ, TOPWORDS_LOCAL_STORAGE_KEY=azurite.account_key)
    what = f"`topwords run` on {len(files)} files"
    with open(work / "stdout", "w+") as stdout, open(work / "stderr", "w+") as stderr:
        az0, busy0, start = azurite_cpu(azurite), machine_busy()[0], time.perf_counter()
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:  # it cleans up on SIGINT: let it
            proc.send_signal(signal.SIGINT)
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        az, busy = azurite_cpu(azurite) - az0, machine_busy()[0] - busy0
        stdout.seek(0), stderr.seek(0)
        text, err = stdout.read(), stderr.read()
    check_no_leftovers(what, proc.pid)
    try:
        result = json.loads(text)
    except json.JSONDecodeError:
        result = {"succeeded": False}
    if proc.returncode != 0 or not result.get("succeeded"):
        fail(f"{what} exited {proc.returncode}: {err.strip()[-500:]}")
        return None
    return Run(len(files), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
               az, busy, result["timings"])


def engine_rates(shape: tuple[int, int], counts: dict[str, int], work: Path) -> dict[str, float]:
    """tasks/s (first start -> last end) of a job of each baseline command
    on a fresh pool of ``shape``, through LocalBatchEngine."""
    import engine as engine_bench  # bench/engine.py

    from topwords.backends.local.docker_node import connect
    from topwords.backends.local.engine import LocalBatchEngine

    client = connect()
    meter = engine_bench.meter_for(client)
    engine = LocalBatchEngine(connect(), image=engine_bench.IMAGE, work_dir=work)
    pools: dict[tuple[int, int], str] = {}
    rates = {}
    try:
        engine_bench.create_pools(engine, [shape], pools)
        engine_bench.wait_until_idle(engine, pools.values())
        for name, command in BASELINES.items():
            job_id = f"bench-{engine_bench.RUN}-scale-{name.split()[0]}-{time.monotonic_ns()}"
            m = engine_bench.run_job(engine, meter, pools[shape], job_id, command, counts[name])
            rates[name] = m.rate
    finally:
        for pool_id in pools.values():
            engine.delete_pool(pool_id)
        engine.close()
        engine_bench.check_no_leftovers(client)
        client.close()
    return rates


def print_runs(runs: list[Run]) -> None:
    print(f"\n  {'files':>6} {'tasks':>6} {'wall s':>8} {'tasks/s':>8} {'ms/task':>8} "
          f"{'client':>7} {'azurite':>7} {'machine':>7} {'RSS MB':>7}  stages (s)")
    for r in runs:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r.timings.items())
        print(f"  {r.files:6d} {r.tasks:6d} {r.wall:8.1f} {r.rate:8.1f} "
              f"{1000 * r.wall / r.tasks:8.1f} {r.ms_per_task(r.client_cpu):7.1f} "
              f"{r.ms_per_task(r.azurite_cpu):7.1f} {r.ms_per_task(r.machine_cpu):7.1f} "
              f"{r.client_rss_mb:7.1f}  {stages}")
    print("  (tasks = files + the reduce; ms/task = wall / tasks; client, azurite, machine = "
          "CPU ms per task of the\n   `topwords` process, of Azurite, and of the whole "
          "machine, anyone's; RSS = the client's peak)")


def rows_for(runs: list[Run], rates: dict[str, float], shape: tuple[int, int]) -> list[dict]:
    baseline = f"engine `true` tasks/s, {shape[0]}x{shape[1]}"
    largest, smallest = runs[-1], runs[0]
    rows = [figure(f"scale: {r.files:,}-file job, tasks/s end to end ({shape[0]}x{shape[1]})",
                   r.rate, "/s", baseline=baseline, baseline_value=rates["true"],
                   target=f">= {TARGET_RATE:g}/s" if r is largest else "",
                   verdict=r.rate >= TARGET_RATE if r is largest else None) for r in runs]
    rows.append(figure(f"scale: {shape[0]}x{shape[1]} engine `python3 -c pass` tasks/s "
                       "(a Python start per task)", rates["python3 -c pass"], "/s",
                       baseline=baseline, baseline_value=rates["true"]))
    if len(runs) > 1:
        per_task = [1000 * r.wall / r.tasks for r in (largest, smallest)]
        rows.append(figure(
            f"scale: wall ms per task at {largest.files:,} files (linearity)", per_task[0],
            "ms", baseline=f"the same at {smallest.files:,} files", baseline_value=per_task[1],
            target=f"<= {TARGET_LINEAR:g}x", verdict=per_task[0] <= TARGET_LINEAR * per_task[1]))
        cpu = [r.ms_per_task(r.client_cpu) for r in (largest, smallest)]
        rows.append(figure(
            f"scale: client CPU ms per task at {largest.files:,} files", cpu[0], "ms",
            baseline=f"the same at {smallest.files:,} files", baseline_value=cpu[1],
            target=f"<= {TARGET_LINEAR:g}x", verdict=cpu[0] <= TARGET_LINEAR * cpu[1]))
        grown = (largest.client_rss_mb - smallest.client_rss_mb) * 1024 / (
            largest.files - smallest.files)
        rows.append(figure(f"scale: client peak RSS at {largest.files:,} files",
                           largest.client_rss_mb, "MB",
                           baseline=f"at {smallest.files:,} files",
                           baseline_value=smallest.client_rss_mb))
        print(f"\n  client memory: {grown:.1f} KB more peak RSS per file from {smallest.files:,} "
              f"to {largest.files:,} files")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {' and '.join(map(str, QUICK_SIZES))} files")
    parser.add_argument("--sizes", help="comma-separated file counts (default "
                        f"{','.join(map(str, FULL_SIZES))}; quick {','.join(map(str, QUICK_SIZES))})")
    parser.add_argument("--nodes", type=int, default=2, help="nodes per pool (default 2)")
    parser.add_argument("--slots", type=int, default=4, help="slots per node (default 4)")
    parser.add_argument("--json-out", type=Path, metavar="FILE",
                        help="write the key figures as JSON (for bench/run.py)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(",")) if args.sizes else list(
        QUICK_SIZES if args.quick else FULL_SIZES)
    shape = (args.nodes, args.slots)
    counts = {"true": 200 if args.quick else 1000,
              "python3 -c pass": 100 if args.quick else 500}
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print("machine:\n  " + "\n  ".join(machine()))
    print(f"sizes {', '.join(f'{n:,}' for n in sizes)} files on {shape[0]}x{shape[1]} "
          f"(nodes x slots); baselines: {counts['true']} `true` and {counts['python3 -c pass']} "
          f"`python3 -c pass` engine tasks, before and after; owner "
          f"{socket.gethostname()}:<pid of each topwords run>", flush=True)

    from topwords.backends.local.azurite import AzuriteServer
    runs: list[Run] = []
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="topwords-bench-scale-") as tmp:
        work = Path(tmp)
        try:
            before = engine_rates(shape, counts, work / "engine-before")
            with AzuriteServer() as azurite:
                for n in sizes:
                    folder = work / f"in{n}"
                    folder.mkdir()
                    run = topwords_run(make_files(folder, n), work / f"out{n}", azurite,
                                       shape, work)
                    if run:
                        runs.append(run)
                        print(f"  {n:,} files: {run.wall:.1f} s, {run.rate:.1f} tasks/s end "
                              f"to end, load average {os.getloadavg()[0]:.2f}", flush=True)
            after = engine_rates(shape, counts, work / "engine-after")
        except KeyboardInterrupt:
            fail("interrupted")
            return finish(args.json_out, "scale", rows, "")
    rates = {k: statistics.fmean((before[k], after[k])) for k in before}
    print("\n  baselines (tasks/s, first task start -> last end), before / after / mean:")
    for name in BASELINES:
        print(f"    engine `{name}` {shape[0]}x{shape[1]}: {before[name]:.1f} / "
              f"{after[name]:.1f} / {rates[name]:.1f}")
    if runs:
        print_runs(runs)
        rows = rows_for(runs, rates, shape)
        largest = runs[-1]
        print(f"\n  ratios: {largest.files:,}-file job tasks/s / engine `true` tasks/s "
              f"{largest.rate / rates['true']:.3f}x; / engine `python3 -c pass` tasks/s "
              f"{largest.rate / rates['python3 -c pass']:.3f}x")
    return finish(args.json_out, "scale", rows, "all runs succeeded; no containers left behind")


if __name__ == "__main__":
    sys.exit(main())
