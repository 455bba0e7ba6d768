"""Task-throughput benchmark of the local Batch engine, with same-run baselines.

    .venv/bin/python bench/engine.py [--quick] [--repeat N] [--json-out FILE] [--profile]

Drives ``LocalBatchEngine`` directly through the core ``Compute`` interface
(no CLI, no storage) on pools of nodes x slots 1x1, 2x1, 2x2, 2x4, 4x4, with
jobs of two variants:

* ``true``: no shell, the task itself costs ~nothing; a 1,000-task job per
  shape (200 with ``--quick``, ``--tasks N``);
* ``sleep 0.2``: ``/bin/bash -c 'sleep 0.2'``, a task whose own run time is
  known; 25 tasks per slot (``--sleep-waves``; 5 with ``--quick``): 25 tasks
  at 1x1, 400 at 4x4, so every job lasts ~5 s at the ideal rate. (1,000
  tasks at 1x1 would take 200 s alone; this keeps the section at ~2-3 min.)

Per job it reports, from the tasks' own ``start_time``/``end_time``:

* tasks/s over the span (first task start -> last task end) and over the wall
  time from ``add_tasks`` to ``wait_for_tasks`` returning;
* the speed-up against 1x1, next to the ideal (nodes x slots);
* slot-ms per task = nodes x slots x span / tasks (the capacity a task used),
  and the per-task overhead = slot-ms per task - the task's own run time;
* CPU ms per task of: this Python process, dockerd, containerd, the
  containerd shims of the pool's containers, their reaped children (runc and
  what ``docker exec`` ran; nothing when the node agent runs the tasks), and
  the node containers' cgroups (the node agent and the tasks), from /proc and
  /sys/fs/cgroup (see bench/cpu.py).

Targets (PASS/MISS): >= 10 tasks/s for ``true`` on multi-slot shapes (the
project's target, as in bench/pipeline.py), and "scales with nodes x slots":
the ``sleep 0.2`` speed-up against 1x1 >= 0.8 x the ideal at 2x4 and 4x4.

Baselines in the same run, on one node container of the same image (a
``DockerNode``, whose commands go through its node agent): ``docker exec true``
through the raw docker SDK (exec_create + exec_start + exec_inspect);
``DockerNode.run(["true"])``, the engine's path through the agent; and the
engine's ``docker exec`` fallback for images without python3 (``ExecRunner``)
on the same container; the last two sequentially and from 4 threads (a node's
4 slots), so the agent-vs-exec ratio is measured, not quoted.

``--profile`` adds a py-spy profile (samples of the thread holding the GIL,
so about our Python CPU) of this process during one 2x4 ``true`` job,
summarised by bench/pyspy_report.py (``pip install py-spy`` into the venv
first; it is not a project dependency). ``--shapes 2x4,4x4`` and
``--variants true`` run a subset. ``--json-out`` writes the key figures for
bench/run.py's summary.

Every task must succeed and, at the end, no ``topwords.local`` container of
this process (label ``topwords.owner=<host>:<pid>``) may be left, also after
Ctrl-C; otherwise ``!!! FAILURE`` and exit code 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from common import fail, figure, finish, machine  # bench/common.py
from cpu import CpuMeter, pids_named, shim_pids  # bench/cpu.py

from topwords.backends.local.docker_exec import ExecRunner
from topwords.backends.local.docker_node import DockerNode, connect, docker_errors
from topwords.backends.local.labels import LOCAL_LABEL, OWNER_LABEL, POOL_LABEL
from topwords.backends.local.users import ROOT
from topwords.backends.local.engine import LocalBatchEngine
from topwords.backends.local.leftovers import owner_label
from topwords.core.model import JobSpec, NodeState, PoolSpec, TaskSpec

IMAGE = "topwords-node:local"
SHAPES = ((1, 1), (2, 1), (2, 2), (2, 4), (4, 4))
VARIANTS = {"true": ("true", 0.0), "sleep 0.2": ("/bin/bash -c 'sleep 0.2'", 0.2)}
PARTS = ("python", "dockerd", "containerd", "shim", "runc+exec", "node")
TARGET_RATE = 10.0  # tasks/s, the project's target for multi-slot shapes
TARGET_SCALING, SCALING_SHAPES = 0.8, ((2, 4), (4, 4))  # speed-up >= 0.8 x nodes x slots
THREADS = 4  # baseline concurrency on one node: the most slots per node of SHAPES
RUN = f"b{os.getpid()}"


def meter_for(client) -> CpuMeter:
    """CPU of us, dockerd, containerd, the shims of our containers (and their
    reaped children), and our containers' cgroups."""
    def ours() -> list[str]:
        return [c.id for c in client.containers.list(
            filters={"label": [LOCAL_LABEL, f"{OWNER_LABEL}={owner_label()}"]})]
    return CpuMeter({
        "python": lambda: [(os.getpid(), "self")],
        "dockerd": lambda: [(p, "self") for p in pids_named("dockerd")],
        "containerd": lambda: [(p, "self") for p in pids_named("containerd")],
        "shim": lambda: [(p, "self") for p in shim_pids(ours())],
        "runc+exec": lambda: [(p, "children") for p in shim_pids(ours())],
        "node": lambda: [(cid, "cgroup") for cid in ours()],
    })


@dataclass
class Measure:
    """One timed batch of ``count`` execs or tasks."""

    count: int
    wall: float
    cpu: dict[str, float]
    busy: float  # machine CPU seconds busy (all processes, anyone's)
    span: float = 0.0  # first task start -> last task end
    held: float = 0.0  # mean end - start of a task

    @property
    def rate(self) -> float:
        """Per second: tasks over the span for a job, execs over the wall time."""
        return self.count / (self.span or self.wall)


def parallel(fn, count: int, threads: int) -> None:
    """``fn(i)`` for i in range(count) from ``threads`` threads; on Ctrl-C the
    calls not yet started are cancelled."""
    pool = ThreadPoolExecutor(threads)
    try:
        list(pool.map(fn, range(count)))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def measured(meter: CpuMeter, count: int, fn) -> Measure:
    meter.start()
    start = time.perf_counter()
    extra = fn()
    wall = time.perf_counter() - start
    used = meter.stop()
    measure = Measure(count, wall, used, meter.machine_busy)
    if isinstance(extra, tuple):  # a job: (span, held)
        measure.span, measure.held = extra
    return measure


# ---------------------------------------------------------------- baselines
BASE_SDK, BASE_AGENT, BASE_EXEC = ("raw SDK docker exec true", "DockerNode.run (node agent)",
                                   "ExecRunner (docker exec fallback)")


def key(name: str, threads: int) -> str:
    return f"{name}, {threads} thread{'s' if threads > 1 else ''}"


def exec_baselines(client, work: Path, meter: CpuMeter, n: int) -> dict[str, Measure]:
    """``true`` run n times on one node container, each way (the agent 5n:
    it is fast enough for a short batch to be noise)."""
    root = work / "exec-node"
    root.mkdir()
    node = DockerNode(client, name=f"topwords-bench-{RUN}-exec", image=IMAGE, host_root=root,
                      agent_dir=work / "exec-node.agent",
                      labels={POOL_LABEL: f"bench-{RUN}-exec", OWNER_LABEL: owner_label()})
    api = client.api
    try:
        node.start()
        if not node.has_agent:
            fail(f"the node of image {IMAGE} runs no agent (no python3?): "
                 "the engine would use docker exec")
        cid = node.inspect()["Id"]
        fallback = ExecRunner(api, cid, docker_errors)
        out, err = root / "exec.out", root / "exec.err"

        def output_fds() -> tuple[int, int]:  # opened per command, as the engine does per task
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
            return os.open(out, flags, 0o644), os.open(err, flags, 0o644)

        def sdk_exec(_=None) -> None:
            exec_id = api.exec_create(cid, ["true"])["Id"]
            api.exec_start(exec_id)
            if api.exec_inspect(exec_id).get("ExitCode") != 0:
                fail("baseline `docker exec true` did not exit 0")

        def agent_run(_=None) -> None:
            fds = output_fds()
            try:
                outcome = node.run(["true"], env={"A": "1"}, workdir="/", stdout=fds[0],
                                   stderr=fds[1], user=ROOT)
            finally:
                os.close(fds[0]), os.close(fds[1])
            if outcome.exit_code != 0:
                fail("baseline DockerNode.run(['true']) did not exit 0")

        def exec_run(_=None) -> None:
            fds = output_fds()
            try:
                code, _ = fallback.run(["true"], env={"A": "1"}, cwd="/", stdout=fds[0],
                                       stderr=fds[1], user=(0, 0), timeout=None)
            finally:
                os.close(fds[0]), os.close(fds[1])
            if code != 0:
                fail("baseline ExecRunner.run(['true']) did not exit 0")

        for fn in (sdk_exec, agent_run, exec_run):  # warm-up: connections, code paths
            parallel(fn, 5, 1)
        result = {}
        for name, fn, count in ((BASE_SDK, sdk_exec, n), (BASE_AGENT, agent_run, 5 * n),
                                (BASE_EXEC, exec_run, n)):
            result[key(name, 1)] = measured(meter, count, lambda: parallel(fn, count, 1))
            if fn is not sdk_exec:
                result[key(name, THREADS)] = measured(
                    meter, count, lambda: parallel(fn, count, THREADS))
        return result
    finally:
        node.remove()


# ---------------------------------------------------------------- the engine
def create_pools(engine: LocalBatchEngine, shapes, pools: dict) -> None:
    """Create a pool per shape, recording each in ``pools`` (for the cleanup)
    before it is created."""
    for nodes, slots in shapes:
        pool_id = f"bench-{RUN}-{nodes}x{slots}"
        pools[(nodes, slots)] = pool_id
        engine.create_pool(PoolSpec(id=pool_id, node_count=nodes, task_slots_per_node=slots,
                                    image=IMAGE))


def wait_until_idle(engine: LocalBatchEngine, pool_ids, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    for pool_id in pool_ids:
        while True:
            states = [n.state for n in engine.list_nodes(pool_id)]
            if all(s is NodeState.IDLE for s in states):
                break
            if any(s in (NodeState.UNUSABLE, NodeState.START_TASK_FAILED) for s in states):
                raise SystemExit(f"pool {pool_id}: a node is unusable: {states}")
            if time.monotonic() > deadline:
                raise SystemExit(f"pool {pool_id}: nodes not idle after {timeout:g} s: {states}")
            time.sleep(0.1)


def run_job(engine: LocalBatchEngine, meter: CpuMeter, pool_id: str, job_id: str,
            command: str, count: int) -> Measure:
    engine.create_job(JobSpec(id=job_id, pool_id=pool_id))
    tasks = [TaskSpec(id=f"t{i:05d}", command_line=command) for i in range(count)]
    try:
        def go():
            engine.add_tasks(job_id, tasks)
            done = engine.wait_for_tasks(job_id, pool_id, timeout=60 + count * 2.0)
            bad = [t for t in done if not t.succeeded]
            if len(done) != count or bad:
                fail(f"job {job_id}: {len(done)} tasks completed, {len(bad)} failed"
                     + (f", e.g. {bad[0].id}: {bad[0].failure}" if bad else ""))
            first = min(t.start_time for t in done)
            last = max(t.end_time for t in done)
            held = statistics.fmean((t.end_time - t.start_time).total_seconds() for t in done)
            return (last - first).total_seconds(), held
        return measured(meter, count, go)
    finally:
        engine.delete_job(job_id)


# ---------------------------------------------------------------- report
def ms_per(m: Measure, part: str) -> float:
    return 1000 * m.cpu[part] / m.count


def cpu_columns(values) -> str:
    return " ".join(f"{v:10.1f}" for v in values)


CPU_HEADER = "CPU ms each: " + " ".join(f"{p:>10}" for p in PARTS) + f" {'machine':>8}"
CPU_LEGEND = ("CPU ms each: per exec or task, from /proc and the containers' cgroups: shim = "
              "the containerd shims\n   of our containers, runc+exec = their reaped children "
              "(runc and what docker exec ran), node = all\n   that ran in our node containers "
              "(the agent and the tasks; it overlaps runc+exec for docker exec);\n   machine = "
              "all busy CPU of the machine, anyone's")


def print_baselines(base: dict[str, Measure]) -> None:
    print(f"\n  {'baseline: `true` in one running node':<46} {'count':>5} {'ms/exec':>8} "
          f"{'execs/s':>8}  {CPU_HEADER}")
    for name, m in base.items():
        print(f"  {name:<46} {m.count:5d} {1000 * m.wall / m.count:8.2f} {m.rate:8.1f}  "
              f"            {cpu_columns(ms_per(m, p) for p in PARTS)} "
              f"{1000 * m.busy / m.count:8.1f}")
    print("  (ms/exec = wall / execs, so with threads it is the inverse throughput;\n   "
          + CPU_LEGEND + ")")


@dataclass
class JobFigures:
    """Medians over the repeats of one (shape, variant)."""

    tasks: int
    rate: float  # tasks / span
    wall_rate: float
    slot_ms: float
    overhead_ms: float  # slot_ms - the task's own run time
    held_ms: float
    cpu: list[float]  # ms per task, PARTS order
    busy_ms: float


def job_figures(runs: list[Measure], nodes: int, slots: int, run_time: float) -> JobFigures:
    slot_ms = statistics.median(1000 * nodes * slots * m.span / m.count for m in runs)
    return JobFigures(
        runs[0].count, statistics.median(m.rate for m in runs),
        statistics.median(m.count / m.wall for m in runs), slot_ms, slot_ms - 1000 * run_time,
        statistics.median(1000 * m.held for m in runs),
        [statistics.median(ms_per(m, p) for m in runs) for p in PARTS],
        statistics.median(1000 * m.busy / m.count for m in runs))


def target_text(nodes: int, slots: int, run_time: float, speedup: float | None) -> str:
    ideal = nodes * slots
    if run_time == 0 and ideal > 1:
        return f">= {TARGET_RATE:g}/s"
    if run_time > 0 and (nodes, slots) in SCALING_SHAPES and speedup is not None:
        return f"x1x1 >= {TARGET_SCALING * ideal:g}"
    return ""


def verdict_of(fig: JobFigures, nodes: int, slots: int, run_time: float,
               speedup: float | None) -> bool | None:
    if run_time == 0 and nodes * slots > 1:
        return fig.rate >= TARGET_RATE
    if run_time > 0 and (nodes, slots) in SCALING_SHAPES and speedup is not None:
        return speedup >= TARGET_SCALING * nodes * slots
    return None


def print_jobs(jobs: dict[tuple, list[Measure]], repeat: int) -> dict[tuple, JobFigures]:
    print(f"\n  engine jobs, medians of {repeat}")
    print(f"  {'shape':<5} {'variant':<9} {'tasks':>5} {'tasks/s':>7} {'wall/s':>7} "
          f"{'x 1x1':>6} {'ideal':>5} {'slot-ms':>8} {'ovh ms':>7} {'held ms':>7}  "
          f"{CPU_HEADER}  target")
    figures = {}
    for variant, (_, run_time) in VARIANTS.items():
        for nodes, slots in SHAPES:
            runs = jobs.get((nodes, slots, variant))
            if not runs:
                continue
            fig = figures[(nodes, slots, variant)] = job_figures(runs, nodes, slots, run_time)
            one = figures.get((1, 1, variant))
            speedup = fig.rate / one.rate if one else None
            target = target_text(nodes, slots, run_time, speedup)
            ok = verdict_of(fig, nodes, slots, run_time, speedup)
            print(f"  {nodes}x{slots:<3} {variant:<9} {fig.tasks:5d} {fig.rate:7.1f} "
                  f"{fig.wall_rate:7.1f} {speedup or float('nan'):6.2f} {nodes * slots:5d} "
                  f"{fig.slot_ms:8.1f} {fig.overhead_ms:7.1f} {fig.held_ms:7.1f}  "
                  f"            {cpu_columns(fig.cpu)} {fig.busy_ms:8.1f}  "
                  f"{target}{'' if ok is None else ' PASS' if ok else ' MISS'}")
    print("  (tasks/s = tasks / (last end - first start); wall/s = tasks / (add_tasks -> "
          "wait_for_tasks returned);\n   x 1x1 = tasks/s / the 1x1 figure of the same "
          "variant, ideal = nodes x slots; slot-ms = nodes x slots x span / tasks;\n   ovh = "
          "slot-ms - the task's own run time (0 or 200 ms); held = mean end_time - start_time "
          "of a task;\n   " + CPU_LEGEND + ")")
    return figures


def ratios_and_rows(base: dict[str, Measure], figures: dict) -> list[dict]:
    """Print the ratios; return the summary rows (bench/common.py)."""
    sdk = base[key(BASE_SDK, 1)]
    sdk_ms = 1000 * sdk.wall / sdk.count
    lines: list[tuple[str, float]] = []
    agent_rows, true_rows, scaling_rows, overhead_rows = [], [], [], []
    for threads in (1, THREADS):
        agent, fallback = base[key(BASE_AGENT, threads)], base[key(BASE_EXEC, threads)]
        lines.append((f"agent execs/s / docker exec fallback execs/s, {key('', threads)[2:]}",
                      agent.rate / fallback.rate))
        agent_rows.append(figure(
            f"engine: `true` via the node agent on one node, {key('', threads)[2:]}",
            agent.rate, "/s", baseline="docker exec fallback (ExecRunner)",
            baseline_value=fallback.rate))
    agent, fallback = base[key(BASE_AGENT, 1)], base[key(BASE_EXEC, 1)]
    lines.append(("docker exec fallback machine CPU / agent machine CPU, per exec",
                  (fallback.busy / fallback.count) / (agent.busy / agent.count)))
    lines.append(("ExecRunner ms / raw SDK exec ms (both 1 thread)",
                  (fallback.wall / fallback.count) / (sdk.wall / sdk.count)))
    for (nodes, slots, variant), fig in figures.items():
        label, ideal = f"{nodes}x{slots} `{variant}`", nodes * slots
        one = figures.get((1, 1, variant))
        if variant == "true" and (nodes, slots) in ((1, 1), *SCALING_SHAPES):
            lines.append((f"engine {label} tasks/s / raw SDK docker exec execs/s",
                          fig.rate / sdk.rate))
            true_rows.append(figure(
                f"engine: {fig.tasks:,}-task `true` job, {nodes}x{slots}, tasks/s", fig.rate, "/s",
                baseline="raw SDK docker exec, 1 thread", baseline_value=sdk.rate,
                target=f">= {TARGET_RATE:g}/s" if ideal > 1 else "",
                verdict=fig.rate >= TARGET_RATE if ideal > 1 else None))
        if variant == "sleep 0.2" and (nodes, slots) in ((1, 1), (4, 4)):
            lines.append((f"engine {label} per-task overhead / raw SDK docker exec ms",
                          fig.overhead_ms / sdk_ms))
            overhead_rows.append(figure(
                f"engine: {label} per-task overhead above 200 ms (slot-ms)", fig.overhead_ms,
                "ms", baseline="raw SDK docker exec, 1 thread", baseline_value=sdk_ms))
        if variant == "sleep 0.2" and (nodes, slots) in SCALING_SHAPES and one:
            scaling_rows.append(figure(
                f"engine: {label} tasks/s (scales with nodes x slots)", fig.rate, "/s",
                baseline="1x1, same variant", baseline_value=one.rate,
                target=f">= {TARGET_SCALING * ideal:g}x ({TARGET_SCALING:g} x {ideal})",
                verdict=fig.rate / one.rate >= TARGET_SCALING * ideal))
    print("\nratios (medians)")
    for name, value in lines:
        print(f"  {name:<66} {value:7.2f}x")
    return true_rows + scaling_rows + overhead_rows + agent_rows


# ---------------------------------------------------------------- profile
def profile(engine, meter, pool_id: str, count: int, work: Path,
            keep: Path | None) -> None:
    """py-spy of this process during one job; prints where the samples fall."""
    import shutil
    import subprocess
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not spy:
        print("\n--profile: py-spy is not installed (pip install py-spy); skipped")
        return
    out = work / "pyspy.txt"
    proc = subprocess.Popen([spy, "record", "--pid", str(os.getpid()), "--rate", "250",
                             "--format", "raw", "--output", str(out), "--nonblocking", "--gil"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # let it attach
    m = run_job(engine, meter, pool_id, f"bench-{RUN}-profile", "true", count)
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    print(f"\nprofile: py-spy (samples of the GIL holder, 250 Hz) during a {count}-task `true` job "
          f"on {pool_id.rsplit('-', 1)[1]}: {m.count / m.span:.1f} tasks/s, "
          f"python CPU {ms_per(m, 'python'):.1f} ms/task")
    if not out.is_file():
        print("  no profile written:", proc.stderr.read()[-300:])
        return
    from pyspy_report import summarise  # bench/pyspy_report.py
    print(summarise(out.read_text(), count))
    if keep:
        shutil.copyfile(out, keep)


# ---------------------------------------------------------------- main
def check_no_leftovers(client) -> None:
    left = client.containers.list(all=True, filters={
        "label": [LOCAL_LABEL, f"{OWNER_LABEL}={owner_label()}"]})
    if left:
        fail(f"{len(left)} container(s) of this run left: {[c.name for c in left]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 repeat, 200 `true` tasks, 5 `sleep 0.2` tasks per slot")
    parser.add_argument("--repeat", type=int, help="repeats per job (default 3, quick 1)")
    parser.add_argument("--tasks", type=int,
                        help="tasks per `true` job (default 1000, quick 200)")
    parser.add_argument("--sleep-waves", type=int, metavar="N",
                        help="`sleep 0.2` tasks per slot: nodes x slots x N tasks per job "
                             "(default 25, quick 5)")
    parser.add_argument("--json-out", type=Path, metavar="FILE",
                        help="write the key figures as JSON (for bench/run.py)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one 2x4 `true` job with py-spy")
    parser.add_argument("--profile-raw", type=Path, metavar="FILE",
                        help="keep py-spy's raw collapsed stacks in FILE")
    parser.add_argument("--shapes", default=",".join(f"{n}x{s}" for n, s in SHAPES),
                        help="pool shapes NODESxSLOTS, comma-separated (default: all five)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"task variants, comma-separated (default: {','.join(VARIANTS)})")
    args = parser.parse_args()
    shapes = [tuple(int(x) for x in shape.split("x")) for shape in args.shapes.split(",")]
    variants = {name: VARIANTS[name] for name in args.variants.split(",")}
    profile_only = args.profile and (2, 4) not in shapes
    if profile_only:
        shapes.append((2, 4))
    repeat = args.repeat or (1 if args.quick else 3)
    count = args.tasks or (200 if args.quick else 1000)
    waves = args.sleep_waves or (5 if args.quick else 25)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up on kill too

    def tasks_for(shape: tuple[int, int], variant: str) -> int:
        return count if VARIANTS[variant][1] == 0 else waves * shape[0] * shape[1]

    print("machine:\n  " + "\n  ".join(machine()))
    print(f"repeats {repeat}; `true` jobs of {count} tasks; `sleep 0.2` jobs of {waves} tasks "
          f"per slot (nodes x slots x {waves}: {waves} at 1x1, {16 * waves} at 4x4, "
          f"~{waves * 0.2:g} s per job at the ideal rate,\n  to keep this section at a few "
          f"minutes: 1,000 tasks at 1x1 would take 200 s); owner label "
          f"{OWNER_LABEL}={socket.gethostname()}:{os.getpid()}", flush=True)
    client = connect()
    meter = meter_for(client)
    jobs: dict[tuple, list[Measure]] = {}
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="topwords-bench-engine-") as tmp:
        work = Path(tmp)
        engine = LocalBatchEngine(connect(), image=IMAGE, work_dir=work / "nodes")
        pools: dict[tuple[int, int], str] = {}
        try:
            base = exec_baselines(client, work, meter, 30 if args.quick else 100)
            print_baselines(base)
            sys.stdout.flush()
            create_pools(engine, shapes, pools)
            wait_until_idle(engine, pools.values())
            for r in range(repeat):
                for variant, (command, _) in variants.items():
                    for shape, pool_id in pools.items():
                        if profile_only and shape == (2, 4):
                            continue
                        job_id = f"bench-{RUN}-{shape[0]}x{shape[1]}-{variant[:5]}-{r}"
                        m = run_job(engine, meter, pool_id, job_id, command,
                                    tasks_for(shape, variant))
                        jobs.setdefault((*shape, variant), []).append(m)
                        print(f"  repeat {r + 1}: {shape[0]}x{shape[1]} {variant:<9} "
                              f"{m.count:4d} tasks {m.rate:7.1f} tasks/s (span {m.span:6.2f} s, "
                              f"wall {m.wall:6.2f} s)", flush=True)
            figures = print_jobs(jobs, repeat)
            rows = ratios_and_rows(base, figures)
            if args.profile:
                profile(engine, meter, pools[(2, 4)], count, work, args.profile_raw)
        except KeyboardInterrupt:
            fail("interrupted; pools deleted")
        finally:
            for pool_id in pools.values():
                engine.delete_pool(pool_id)
            engine.close()
            check_no_leftovers(client)
            client.close()
    return finish(args.json_out, "engine", rows,
                  "all tasks succeeded; no container of this run left behind")


if __name__ == "__main__":
    sys.exit(main())
