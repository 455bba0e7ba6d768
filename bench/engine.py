"""Task-throughput benchmark of the local Batch engine, with same-run baselines.

    .venv/bin/python bench/engine.py [--quick] [--repeat N] [--profile]

Drives ``LocalBatchEngine`` directly through the core ``Compute`` interface
(no CLI, no storage): for pool shapes nodes x slots 1x1, 2x1, 2x2, 2x4, 4x4 it
runs a job of 1,000 trivial tasks (200 with ``--quick``) in two variants:

* ``true``: no shell, the task itself costs ~nothing;
* ``sleep 0.2``: ``/bin/bash -c 'sleep 0.2'``, a task whose own run time is known.

Per job it reports, from the tasks' own ``start_time``/``end_time``:

* tasks/s over the span (first task start -> last task end) and over the wall
  time from ``add_tasks`` to ``wait_for_tasks`` returning;
* slot-ms per task = nodes x slots x span / tasks (the capacity a task used),
  and the per-task overhead = slot-ms per task - the task's own run time;
* CPU ms per task of: this Python process, dockerd, containerd, and the
  containerd shims of the pool's containers with their reaped children (runc
  and the task processes), read from /proc (see bench/cpu.py);
* the speed-up against 1x1, next to the ideal (nodes x slots).

The target (PASS/MISS) is the project's >= 10 tasks/s (bench/run.py), checked
for the ``true`` variant on multi-slot shapes.

Baselines in the same run, on one node container of the same image:
``docker exec true`` through the docker SDK (exec_create + exec_start +
exec_inspect) sequentially and from 2-16 threads, ``DockerNode.run`` (the
engine's own exec path: streamed, demuxed into stdout/stderr files), and a
prototype long-lived exec agent in the node (bench/exec_agent.py), i.e. what
exec would cost without dockerd/containerd/runc on the task path.

``--profile`` adds a py-spy profile (samples of the thread holding the GIL,
so about our Python CPU) of this process during one 2x4 ``true`` job,
summarised by bench/pyspy_report.py (``pip install py-spy`` into the venv
first; it is not a project dependency). ``--shapes 2x4,4x4`` and
``--variants true`` run a subset.

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

from cpu import CpuMeter, pids_named, shim_pids  # bench/cpu.py
from exec_agent import AgentClient, start_agent  # bench/exec_agent.py
from run import machine  # bench/run.py: same machine lines as the main bench

from topwords.backends.local.docker_node import LABEL, DockerNode, connect
from topwords.backends.local.engine import LocalBatchEngine
from topwords.backends.local.leftovers import OWNER_LABEL, owner_label
from topwords.core.model import JobSpec, NodeState, PoolSpec, TaskSpec

IMAGE = "topwords-node:local"
SHAPES = ((1, 1), (2, 1), (2, 2), (2, 4), (4, 4))
VARIANTS = {"true": ("true", 0.0), "sleep 0.2": ("/bin/bash -c 'sleep 0.2'", 0.2)}
PARTS = ("python", "dockerd", "containerd", "shim", "runc+task", "agent")
TARGET_RATE = 10.0  # tasks/s, the project's target for multi-slot shapes (bench/run.py)
FAILURES: list[str] = []
RUN = f"b{os.getpid()}"


def fail(message: str) -> None:
    FAILURES.append(message)
    print(f"\n!!! FAILURE: {message}\n", file=sys.stderr, flush=True)


def meter_for(client, agent_pid: int | None = None) -> CpuMeter:
    """CPU of us, dockerd, containerd and the shims of our containers (and of
    the prototype exec agent with its children)."""
    def ours() -> list[str]:
        return [c.id for c in client.containers.list(
            filters={"label": [LABEL, f"{OWNER_LABEL}={owner_label()}"]})]
    return CpuMeter({
        "agent": lambda: [(agent_pid, "all")] if agent_pid else [],
        "python": lambda: [(os.getpid(), "self")],
        "dockerd": lambda: [(p, "self") for p in pids_named("dockerd")],
        "containerd": lambda: [(p, "self") for p in pids_named("containerd")],
        "shim": lambda: [(p, "self") for p in shim_pids(ours())],
        "runc+task": lambda: [(p, "children") for p in shim_pids(ours())],
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
def exec_baselines(client, work: Path, meter: CpuMeter, n: int) -> dict[str, Measure]:
    """``docker exec true`` on one node container: SDK calls, then DockerNode.run."""
    node = DockerNode(client, name=f"topwords-bench-{RUN}-exec", image=IMAGE,
                      host_root=work / "exec-node",
                      labels={"topwords.pool": f"bench-{RUN}-exec", OWNER_LABEL: owner_label()})
    (work / "exec-node").mkdir()
    api = client.api
    try:
        node.start()
        cid = node.inspect()["Id"]

        def sdk_exec(_=None) -> None:
            exec_id = api.exec_create(cid, ["true"])["Id"]
            api.exec_start(exec_id)
            if api.exec_inspect(exec_id).get("ExitCode") != 0:
                fail("baseline `docker exec true` did not exit 0")

        def node_run(_=None) -> None:
            outcome = node.run(["true"], env={"A": "1"}, workdir="/",
                               stdout=work / "exec.out", stderr=work / "exec.err")
            if outcome.exit_code != 0:
                fail("baseline DockerNode.run(['true']) did not exit 0")

        def loop(fn, count: int) -> None:
            for _ in range(count):
                fn()

        loop(sdk_exec, 5)  # warm-up
        result = {"SDK exec, sequential": measured(meter, n, lambda: loop(sdk_exec, n)),
                  "DockerNode.run, sequential": measured(meter, n, lambda: loop(node_run, n))}
        for threads in (2, 4, 8, 16):
            result[f"SDK exec, {threads} threads"] = measured(
                meter, 2 * n, lambda: parallel(sdk_exec, 2 * n, threads))
        result.update(agent_baselines(client, cid, n))
        return result
    finally:
        node.remove()


def agent_baselines(client, container_id: str, n: int) -> dict[str, Measure]:
    """The prototype exec agent (bench/exec_agent.py) on the same node."""
    port, pid = start_agent(client.api, container_id)
    agent, meter = AgentClient(port), meter_for(client, agent_pid=pid)
    try:
        def agent_run(_=None) -> None:
            code = agent.run(["true"], env={"A": "1"}, cwd="/", stdout="/tmp/out",
                             stderr="/tmp/err")
            if code != 0:
                fail("baseline agent run of `true` did not exit 0")

        for _ in range(5):  # warm-up
            agent_run()
        result = {"agent prototype, sequential": measured(
            meter, n, lambda: [agent_run() for _ in range(n)])}
        for threads in (8, 16):
            result[f"agent prototype, {threads} threads"] = measured(
                meter, 4 * n, lambda: parallel(agent_run, 4 * n, threads))
        return result
    finally:
        agent.close()


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


def print_baselines(base: dict[str, Measure]) -> None:
    print(f"\n  {'baseline: exec of `true` in a running node':<44} {'ms/exec':>8} {'execs/s':>8}"
          "   CPU ms/exec: " + " ".join(f"{p:>10}" for p in PARTS) + f" {'machine':>8}")
    for name, m in base.items():
        print(f"  {name:<44} {1000 * m.wall / m.count:8.1f} {m.count / m.wall:8.1f}"
              f"                {' '.join(f'{ms_per(m, p):10.1f}' for p in PARTS)}"
              f" {1000 * m.busy / m.count:8.1f}")
    print("  (ms/exec = wall / execs, so for N threads it is the inverse throughput; "
          "machine = all busy CPU,\n   anyone's, per exec; shim = the containerd shims of "
          "our containers, runc+task = their reaped\n   children: runc and the exec'd "
          "processes)")


def print_jobs(jobs: dict[tuple, list[Measure]], count: int, repeat: int) -> dict:
    print(f"\n  engine, {count}-task jobs, medians of {repeat}")
    print(f"  {'shape':<5} {'variant':<9} {'tasks/s':>7} {'wall/s':>7} {'x 1x1':>6} {'ideal':>5}"
          f" {'slot-ms':>8} {'ovh ms':>7} {'held ms':>7}   CPU ms/task: "
          + " ".join(f"{p:>10}" for p in PARTS) + f" {'machine':>8}  target")
    rates = {}
    for variant, (_, run_time) in VARIANTS.items():
        for (nodes, slots) in SHAPES:
            runs = jobs.get((nodes, slots, variant))
            if not runs:
                continue
            rate = statistics.median(m.count / m.span for m in runs)
            rates[(nodes, slots, variant)] = rate
            wall = statistics.median(m.count / m.wall for m in runs)
            slot_ms = statistics.median(1000 * nodes * slots * m.span / m.count for m in runs)
            held = statistics.median(1000 * m.held for m in runs)
            cpu = [statistics.median(ms_per(m, p) for m in runs) for p in PARTS]
            busy = statistics.median(1000 * m.busy / m.count for m in runs)
            one = rates.get((1, 1, variant))
            target = ""
            if nodes * slots > 1 and run_time == 0:
                verdict = "PASS" if rate >= TARGET_RATE else "MISS"
                target = f">= {TARGET_RATE:g}/s {verdict}"
            print(f"  {nodes}x{slots:<3} {variant:<9} {rate:7.1f} {wall:7.1f} "
                  f"{(rate / one if one else float('nan')):6.2f} {nodes * slots:5d} "
                  f"{slot_ms:8.1f} {slot_ms - 1000 * run_time:7.1f} {held:7.1f}"
                  f"               {' '.join(f'{c:10.1f}' for c in cpu)} {busy:8.1f}  {target}")
    print("  (tasks/s = tasks / (last end - first start); wall/s = tasks / (add_tasks -> "
          "wait_for_tasks returned);\n   x 1x1 = tasks/s / the 1x1 figure of the same "
          "variant; slot-ms = nodes x slots x span / tasks;\n   ovh = slot-ms - the task's "
          "own run time (0 or 200 ms); held = mean end_time - start_time of a task)")
    return rates


def print_ratios(base: dict[str, Measure], jobs: dict, rates: dict) -> None:
    seq = base["SDK exec, sequential"]
    sdk_ms = 1000 * seq.wall / seq.count
    node_ms = 1000 * base["DockerNode.run, sequential"].wall / seq.count
    print("\nratios (medians)")
    lines = [("DockerNode.run / SDK exec (both sequential)", node_ms / sdk_ms)]
    if (1, 1, "true") in rates:
        lines.append(("engine 1x1 `true` ms/task / SDK exec ms", 1000 / rates[(1, 1, "true")]
                      / sdk_ms))
    for (nodes, slots) in SHAPES:
        key = f"SDK exec, {nodes * slots} threads"
        if (nodes, slots, "true") in rates and key in base:
            raw = base[key].count / base[key].wall
            lines.append((f"engine {nodes}x{slots} `true` tasks/s / {key} execs/s",
                          rates[(nodes, slots, "true")] / raw))
    agent = base.get("agent prototype, sequential")
    if agent:
        lines.append(("SDK exec ms / agent prototype ms (both sequential)",
                      sdk_ms / (1000 * agent.wall / agent.count)))
        lines.append(("SDK exec machine CPU / agent machine CPU, per exec (sequential)",
                      (seq.busy / seq.count) / (agent.busy / agent.count)))
    for threads in (8, 16):
        a = base.get(f"agent prototype, {threads} threads")
        d = base.get(f"SDK exec, {threads} threads")
        if a and d:
            lines.append((f"agent prototype execs/s / SDK exec execs/s ({threads} threads)",
                          (a.count / a.wall) / (d.count / d.wall)))
    for name, value in lines:
        print(f"  {name:<66} {value:6.2f}x")


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
        "label": [LABEL, f"{OWNER_LABEL}={owner_label()}"]})
    if left:
        fail(f"{len(left)} container(s) of this run left: {[c.name for c in left]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200-task jobs, 2 repeats")
    parser.add_argument("--repeat", type=int, help="repeats per job (default 3)")
    parser.add_argument("--tasks", type=int, help="tasks per job (default 1000, quick 200)")
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
    if args.profile and (2, 4) not in shapes:
        shapes.append((2, 4))
    repeat = args.repeat or (2 if args.quick else 3)
    count = args.tasks or (200 if args.quick else 1000)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up on kill too

    print("machine:\n  " + "\n  ".join(machine()))
    print(f"repeats {repeat}, {count} tasks per job, owner label "
          f"{OWNER_LABEL}={socket.gethostname()}:{os.getpid()}", flush=True)
    client = connect()
    meter = meter_for(client)
    jobs: dict[tuple, list[Measure]] = {}
    with tempfile.TemporaryDirectory(prefix="topwords-bench-engine-") as tmp:
        work = Path(tmp)
        engine = LocalBatchEngine(connect(), image=IMAGE, work_dir=work / "nodes")
        pools: dict[tuple[int, int], str] = {}
        try:
            base = exec_baselines(client, work, meter, 100 if args.quick else 200)
            print_baselines(base)
            sys.stdout.flush()
            create_pools(engine, shapes, pools)
            wait_until_idle(engine, pools.values())
            for r in range(repeat):
                for variant, (command, _) in variants.items():
                    for shape, pool_id in pools.items():
                        if args.profile and shape == (2, 4) and "2x4" not in args.shapes:
                            continue
                        job_id = f"bench-{RUN}-{shape[0]}x{shape[1]}-{variant[:5]}-{r}"
                        m = run_job(engine, meter, pool_id, job_id, command, count)
                        jobs.setdefault((*shape, variant), []).append(m)
                        print(f"  repeat {r + 1}: {shape[0]}x{shape[1]} {variant:<9} "
                              f"{m.count / m.span:6.1f} tasks/s (span {m.span:6.2f} s, "
                              f"wall {m.wall:6.2f} s)", flush=True)
            rates = print_jobs(jobs, count, repeat)
            print_ratios(base, jobs, rates)
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
    if FAILURES:
        print(f"\n!!! {len(FAILURES)} FAILURE(S):", *FAILURES, sep="\n!!! ")
        return 1
    print("\nall tasks succeeded; no container of this run left behind")
    return 0


if __name__ == "__main__":
    sys.exit(main())
