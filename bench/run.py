"""Every benchmark in one command, ending with one summary table.

    .venv/bin/python bench/run.py [--quick] [--only pipeline,kernel,staging,engine,scale]
    make bench                                   # the same, after `make setup`

Runs each section as a subprocess of its own script (each is standalone too),
which prints its detailed table as it goes and writes its key figures with
``--json-out``:

* pipeline (bench/pipeline.py): ``topwords run --backend local`` end to end;
* kernel (bench/kernel.py): node/task.py's word counting on a generated
  corpus, and its peak memory on a 1 GB file;
* staging (bench/staging.py): bulk blob uploads/downloads against Azurite;
* engine (bench/engine.py): task throughput of the local engine per pool shape;
* scale (bench/scale.py): ``topwords run`` on jobs of 500, 2,000 and 5,000
  files: tasks/s end to end against the engine's own rate, and linearity.

Then one table (markdown, to paste as it is): figure | value | baseline
measured in the same run | ratio (value / baseline) | target | PASS/MISS,
followed by the machine it ran on and how long each section took. Every
number in it comes from this run's JSON files. ``--quick`` passes ``--quick``
to every section (small sizes: a smoke test of the whole bench, ~2 minutes).

Exit code 1 if a section failed (a task or a transfer failed, a container was
left behind, a script crashed or wrote no figures); a MISS is a result, not a
failure (exit code 0).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine  # bench/common.py

BENCH = Path(__file__).resolve().parent
SECTIONS = ("pipeline", "kernel", "staging", "engine", "scale")


def run_section(name: str, quick: bool, json_out: Path) -> tuple[int, float]:
    """Run bench/<name>.py with its output on ours; (exit code, seconds)."""
    argv = [sys.executable, str(BENCH / f"{name}.py"), "--json-out", str(json_out)]
    if quick:
        argv.append("--quick")
    shown = f"bench/{name}.py{' --quick' if quick else ''} --json-out FILE"
    print(f"\n{'=' * 78}\n== {name}: {shown}\n{'=' * 78}", flush=True)
    start = time.perf_counter()
    # its own session: a Ctrl-C reaches us only, and we pass it on exactly once
    # (a second one could cut the section's clean-up short)
    proc = subprocess.Popen(argv, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            start_new_session=True)
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM
        proc.send_signal(signal.SIGINT)  # every section cleans up on KeyboardInterrupt
        proc.wait()
        raise
    return code, time.perf_counter() - start


def number(value: float) -> str:
    if value is None:
        return "-"
    size = abs(value)
    return f"{value:.0f}" if size >= 100 else f"{value:.1f}" if size >= 10 else f"{value:.2f}"


def with_unit(value: float, unit: str) -> str:
    return number(value) + ("" if unit.startswith("/") else " ") + unit


def summary_table(rows: list[dict]) -> list[str]:
    lines = ["| figure | value | baseline (same run) | ratio | target | verdict |",
             "|---|---:|---|---:|---|---|"]
    for r in rows:
        base = (f"{r['baseline']}: {with_unit(r['baseline_value'], r['unit'])}"
                if r["baseline_value"] is not None else r["baseline"] or "-")
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
        lines.append(f"| {r['figure']} | {with_unit(r['value'], r['unit'])} | {base} | {ratio} "
                     f"| {r['target'] or '-'} | {r['verdict'] or '-'} |")
    return lines


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(BENCH.parent), *args], capture_output=True,
                              text=True, check=False).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "?"
    return head + (" + uncommitted changes" if git("status", "--porcelain") else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes in every section (a ~2-minute smoke test)")
    parser.add_argument("--only", default=",".join(SECTIONS), metavar="LIST",
                        help=f"comma-separated sections to run (default: {','.join(SECTIONS)})")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        parser.error(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    started = datetime.datetime.now(datetime.timezone.utc)
    host = machine()
    print(f"# topwords bench, {'quick' if args.quick else 'full'} run of "
          f"{', '.join(chosen)}, {started:%Y-%m-%d %H:%M} UTC, commit {commit()}")
    print("machine:\n  " + "\n  ".join(host), flush=True)
    rows, failures, took = [], [], {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="topwords-bench-run-") as tmp:
        for name in [s for s in SECTIONS if s in chosen]:
            out = Path(tmp) / f"{name}.json"
            try:
                code, took[name] = run_section(name, args.quick, out)
            except KeyboardInterrupt:
                print(f"\n!!! interrupted during {name}", file=sys.stderr)
                return 130
            result = json.loads(out.read_text()) if out.is_file() else None
            if code != 0:
                failures.append(f"{name}: exited {code}")
            if result is None:
                failures.append(f"{name}: wrote no figures")
                continue
            failures += [f"{name}: {f}" for f in result["failures"]]
            rows += result["rows"]
    total = time.perf_counter() - start

    print(f"\n{'=' * 78}\n== summary\n{'=' * 78}\n")
    print("\n".join(summary_table(rows)))
    verdicts = [r["verdict"] for r in rows if r["verdict"]]
    print(f"\n{verdicts.count('PASS')} PASS, {verdicts.count('MISS')} MISS; ratio = value / "
          "baseline; every figure and baseline was measured in this run.\n")
    command = "bench/run.py" + (" --quick" if args.quick else "") + (
        f" --only {','.join(chosen)}" if set(chosen) != set(SECTIONS) else "")
    print(f"- {'quick' if args.quick else 'full'} run, {started:%Y-%m-%d %H:%M} UTC, commit "
          f"{commit()}, `{command}`")
    for line in host:
        print(f"- {line} (at start)" if "load average" in line else f"- {line}")
    print(f"- load average at end {os.getloadavg()[0]:.2f}")
    print(f"- took {total / 60:.1f} min: " + ", ".join(f"{n} {s:.0f} s" for n, s in took.items()))
    if failures:
        print(f"\n!!! {len(failures)} FAILURE(S):", *failures, sep="\n!!! ")
        return 1
    print("\nevery section succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
