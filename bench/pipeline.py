"""Pipeline benchmark: `topwords run --backend local`, with same-run baselines.

    .venv/bin/python bench/pipeline.py [--quick] [--repeat N] [--json-out FILE]

Prints the machine, then a table: median and min over N repeats, the target,
PASS/MISS, and ratios against baselines measured in this same run (Azurite
start, process start, docker run / docker exec, CLI import). Every timed
`topwords run` must exit 0, report success, and leave no container behind
(`docker ps -a --filter label=topwords.local`, attributed to the run by its
topwords.owner=host:pid label, since other processes may share the daemon);
otherwise the script says so loudly and exits 1. ``--json-out`` writes the key
figures for bench/run.py's summary. Standard library only (plus the project's
AzuriteServer).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import fail, figure, finish, machine  # bench/common.py

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
TOPWORDS = str(VENV_BIN / "topwords")
IMAGE = "topwords-node:local"
TUTORIAL = [REPO.parent / "shared" / "data" / "tutorial" / f"taskdata{i}.txt" for i in (1, 2, 3)]
WORDS = ("azure batch pool node task job blob container storage emulator docker "
         "azurite shared access signature output input word count top river stone "
         "lantern harbour orchard copper meadow").split()


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def check_no_leftovers(what: str, pid: int) -> None:
    """Fail if a topwords.local container started by process ``pid`` (label
    topwords.owner = host:pid) is left; other processes' ones are only noted."""
    fields = '{{.ID}} {{.Label "topwords.owner"}} {{.Label "topwords.pool"}} {{.Status}}'
    rows = sh("docker", "ps", "-a", "--filter", "label=topwords.local",
              "--format", fields).stdout.splitlines()
    owner = f"{socket.gethostname()}:{pid}"
    ours = [r for r in rows if r.split()[1:2] == [owner]]
    if ours:
        fail(f"{len(ours)} container(s) labelled topwords.local left after {what}: {ours}")
    elif rows:
        print(f"  note: {len(rows)} topwords.local container(s) of other processes "
              f"(not this bench's run): {rows}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- baselines
def bench_azurite_start(repeat: int) -> list[float]:
    from topwords.backends.local.azurite import AzuriteServer
    times = []
    for _ in range(repeat):
        server = AzuriteServer()
        times.append(timed(server.start))
        server.stop()
    return times


def bench_docker(repeat: int) -> tuple[list[float], list[float]]:
    run = [timed(lambda: sh("docker", "run", "--rm", "--network", "host", IMAGE, "true"))
           for _ in range(repeat)]
    name = f"topwords-bench-{os.getpid()}"
    sh("docker", "run", "-d", "--rm", "--network", "host", "--name", name, IMAGE,
       "sleep", "600")
    try:
        execs = [timed(lambda: sh("docker", "exec", name, "python3", "-c", "pass"))
                 for _ in range(repeat)]
    finally:
        sh("docker", "rm", "-f", name, check=False)
    return run, execs


def baselines(repeat: int) -> dict[str, list[float]]:
    docker_run, docker_exec = bench_docker(repeat)
    return {
        "python -c pass": [timed(lambda: sh(sys.executable, "-c", "pass"))
                           for _ in range(repeat)],
        "CLI import": [timed(lambda: sh(sys.executable, "-c", "import topwords.cli.main"))
                       for _ in range(repeat)],
        "Azurite start->ready": bench_azurite_start(repeat),
        "docker run --rm (per task)": docker_run,
        "docker exec python3 -c pass": docker_exec,
    }


# ---------------------------------------------------------------- topwords run
def topwords_run(files: list[Path], out: Path, *extra: str) -> tuple[float, dict]:
    """One `topwords run --json --quiet`; returns (wall seconds, JSON result)."""
    argv = [TOPWORDS, "run", "--backend", "local", "--top", "3", "--json", "--quiet",
            "--output-dir", str(out), *extra, *map(str, files)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_text, err_text = proc.communicate()
    wall = time.perf_counter() - start
    what = f"`topwords run {' '.join(extra)}` on {len(files)} file(s)"
    try:
        result = json.loads(out_text)
    except json.JSONDecodeError:
        result = {"succeeded": False, "timings": {}}
    if proc.returncode != 0 or not result.get("succeeded"):
        fail(f"{what} exited {proc.returncode}: {err_text.strip()[-500:]}")
    check_no_leftovers(what, proc.pid)
    return wall, result


def make_files(folder: Path, count: int) -> list[Path]:
    """``count`` small deterministic text files (~60 words each)."""
    files = []
    for n in range(count):
        words = [WORDS[(n * 7 + i * i) % len(WORDS)] for i in range(60)]
        path = folder / f"doc{n:03d}.txt"
        path.write_text(" ".join(words) + "\n", encoding="utf-8")
        files.append(path)
    return files


# ---------------------------------------------------------------- report
def fmt(times: list[float]) -> str:
    return f"{statistics.median(times):8.3f} {min(times):8.3f}"


def row(name: str, times: list[float], target: str = "", verdict: str = "") -> None:
    print(f"  {name:<42} {fmt(times)}  {target:<12} {verdict}")


def verdict(value: float, limit: float, at_most: bool = True) -> str:
    return "PASS" if (value <= limit if at_most else value >= limit) else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, a 30-file job")
    parser.add_argument("--repeat", type=int, help="repeats per figure (default 5)")
    parser.add_argument("--json-out", type=Path, metavar="FILE",
                        help="write the key figures as JSON (for bench/run.py)")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 5)
    job_size = 30 if args.quick else 200
    tutorial = TUTORIAL if all(p.is_file() for p in TUTORIAL) else sorted(
        (REPO / "examples").glob("*.txt"))

    print("machine:\n  " + "\n  ".join(machine()))
    if tutorial is not TUTORIAL:
        print(f"  NOTE: tutorial files absent; using {REPO / 'examples'}/*.txt instead")
    print(f"repeats {repeat}, job size {job_size} files; all times in seconds\n", flush=True)
    check_no_leftovers("nothing yet", os.getpid())  # only notes other processes' containers

    base = baselines(repeat)
    med = {k: statistics.median(v) for k, v in base.items()}

    from topwords.backends.local.azurite import AzuriteServer
    with tempfile.TemporaryDirectory(prefix="topwords-bench-") as tmp:
        tmp = Path(tmp)
        fresh = [topwords_run(tutorial, tmp / f"fresh{i}") for i in range(repeat)]
        with AzuriteServer() as shared:
            os.environ["TOPWORDS_LOCAL_STORAGE_KEY"] = shared.account_key
            reuse = [topwords_run(tutorial, tmp / f"reuse{i}", "--azurite-url", shared.blob_url)
                     for i in range(repeat)]
            del os.environ["TOPWORDS_LOCAL_STORAGE_KEY"]
        (tmp / "job").mkdir()
        files = make_files(tmp / "job", job_size)
        shapes = {(nodes, slots): [
            topwords_run(files, tmp / f"job{nodes}x{slots}-{i}", "--nodes", str(nodes),
                         "--slots", str(slots)) for i in range(repeat)]
            for nodes, slots in ((2, 1), (2, 4), (4, 4))}

    print(f"  {'figure':<42} {'median':>8} {'min':>8}  {'target':<12} verdict")
    print("  baselines (same run)")
    for name, times in base.items():
        row(name, times)
    print(f"  {'Azure Batch, tutorial-reported (not measured)':<42} {'300-420':>17}")

    print(f"  tutorial run ({len(tutorial)} files, --top 3)")
    fresh_w, reuse_w = [w for w, _ in fresh], [w for w, _ in reuse]
    row("whole run, private Azurite", fresh_w, "<= 3 s",
        verdict(statistics.median(fresh_w), 3.0))
    row("whole run, --azurite-url (shared)", reuse_w, "<= 1.5 s",
        verdict(statistics.median(reuse_w), 1.5))
    for name, runs in (("private", fresh), ("shared", reuse)):
        row(f"  tasks phase ({name})", [r["timings"].get("tasks", 0) for _, r in runs])
        row(f"  outside the workflow ({name})", [w - sum(r["timings"].values()) for w, r in runs])
    print("    (outside = wall - sum(JSON timings): interpreter, imports, Azurite start, "
          "Docker connect, exit)")

    print(f"  {job_size}-file job (default: private Azurite per run)")
    rates = {}
    for (nodes, slots), runs in shapes.items():
        tasks_rate = [job_size / max(r["timings"].get("tasks", 1e9), 1e-9) for _, r in runs]
        wall_rate = [job_size / w for w, _ in runs]
        rates[(nodes, slots)] = statistics.median(tasks_rate)
        label = f"--nodes {nodes} --slots {slots}"
        print(f"  {label + ' tasks/s (tasks phase)':<42} {statistics.median(tasks_rate):8.1f} "
              f"{max(tasks_rate):8.1f}* {'>= 10/s':<12} "
              f"{verdict(statistics.median(tasks_rate), 10.0, at_most=False)}")
        print(f"  {label + ' tasks/s (whole command)':<42} {statistics.median(wall_rate):8.1f} "
              f"{max(wall_rate):8.1f}*")
        stage = {k: statistics.median(r["timings"].get(k, 0) for _, r in runs)
                 for k in runs[0][1]["timings"]}
        print("      stages (median s): " + ", ".join(f"{k} {v:.2f}" for k, v in stage.items()))
    print("  (* for rates the second column is the best run, i.e. max)")

    best = max(rates, key=rates.get)
    per_task = 1 / rates[best]
    f_med, r_med = statistics.median(fresh_w), statistics.median(reuse_w)
    print("\nratios (medians)")
    ratios = [
        ("whole run (private) / Azurite start", f_med / med["Azurite start->ready"]),
        ("whole run (private) / whole run (shared)", f_med / r_med),
        ("whole run (shared) / CLI import", r_med / med["CLI import"]),
        ("Azure tutorial 5 min / whole run (private)", 300 / f_med),
        (f"tasks phase per task ({best[0]}x{best[1]}: {per_task * 1000:.0f} ms) / docker run",
         per_task / med["docker run --rm (per task)"]),
        ("tasks phase per task / docker exec", per_task / med["docker exec python3 -c pass"]),
        ("docker run / docker exec", med["docker run --rm (per task)"]
         / med["docker exec python3 -c pass"]),
    ]
    for name, value in ratios:
        print(f"  {name:<60} {value:7.2f}x")

    docker_run_rate = 1 / med["docker run --rm (per task)"]
    small = (f"tutorial job ({len(tutorial)} files)" if tutorial is TUTORIAL
             else f"examples/*.txt job ({len(tutorial)} files; tutorial files absent)")
    rows = [figure(f"pipeline: {small}, private Azurite", f_med,
                   "s", baseline="Azurite start->ready", baseline_value=med["Azurite start->ready"],
                   target="<= 3 s", verdict=f_med <= 3.0),
            figure(f"pipeline: {small}, --azurite-url", r_med, "s",
                   baseline="CLI import", baseline_value=med["CLI import"], target="<= 1.5 s",
                   verdict=r_med <= 1.5)]
    rows += [figure(f"pipeline: {job_size}-file job, {n}x{s} tasks/s", rate, "/s",
                    baseline="docker run --rm per task", baseline_value=docker_run_rate,
                    target=">= 10/s", verdict=rate >= 10.0)
             for (n, s), rate in rates.items()]
    return finish(args.json_out, "pipeline", rows,
                  "all runs succeeded; no containers left behind")


if __name__ == "__main__":
    sys.exit(main())
