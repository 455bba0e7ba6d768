"""Speed and memory of node/task.py's word counter, against same-run baselines.

    .venv/bin/python bench/kernel.py [--size-mb 100] [--big-gb 1] [--skip-big]
                                     [--repeat 3] [--seed 1] [--no-verify]
                                     [--quick] [--json-out FILE]

Generates a deterministic corpus (seeded ``random.Random``: a Zipf-distributed
vocabulary of --vocab (40,000) made-up words plus some real non-ASCII ones, in lower,
Capitalised and UPPER forms, with punctuation, quotes, dashes, line breaks and
a few no-break spaces) in a temp dir, then times in ONE run, round-robin, median
and min of --repeat runs:

- ``wc -w`` (the floor for splitting on whitespace) and the shell one-liner
  ``tr -cs '[:alnum:]' '\\n' < F | awk '{c[$0]++}' > /dev/null`` (LC_ALL=C);
- the tutorial's algorithm (read the whole file, ``text.split()``,
  ``strip(string.punctuation)`` per token, ``collections.Counter``);
- node/task.py's single-process kernel (``count_words(F, workers=1)``) and its
  multi-process kernel (``count_words(F)``), each in a fresh interpreter and
  timed inside it;
- ``python3 node/task.py --filepath F --numwords 10`` timed from outside
  (interpreter start, process start and the report included).

Then the task's peak memory (``ru_maxrss`` from ``os.wait4`` in a small launcher
process: the largest of the task process and its worker processes; and the
sampled sum of the process tree's RSS) on the corpus and on a --big-gb file made
by repeating it (same vocabulary, so the same memory is expected), with the
default workers and with --workers 1. Ends with PASS/MISS against the targets:
>= 4x the tutorial, >= 1.5x the one-liner, memory(big) <= 1.2x memory(corpus).
``--quick`` is a smoke run (10 MB corpus, 0.1 GB big file, 1 repeat);
``--json-out`` writes the key figures for bench/run.py's summary.
Standard library only; every generated file is removed.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import platform
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import figure, write_result  # bench/common.py

REPO = Path(__file__).resolve().parents[1]
TASK = REPO / "node" / "task.py"
sys.path.insert(0, str(TASK.parent))
import task  # noqa: E402  (node/task.py, as shipped: one stdlib-only file)

ONE_LINER = "tr -cs '[:alnum:]' '\\n' < \"$1\" | awk '{c[$0]++}' > /dev/null"
TARGET_TUTORIAL, TARGET_ONE_LINER, TARGET_MEMORY = 4.0, 1.5, 1.2

# ---------------------------------------------------------------- the corpus
LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
LETTER_WEIGHTS = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8,
                  2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
ACCENTS = "ąćęłńóśźżéèüößñç"
REAL_WORDS = ("naïve Straße jaźń 日本語 東京 😀 👍🏽 café don't e-mail it's co-op "
              "résumé Ελλάδα москва").split()
# (template, weight): what surrounds a word, including the separator after it.
TEMPLATES = (("{} ", 700), ("{}, ", 60), ("{}. ", 40), ("{}\n", 70), ("{}.\n", 20),
             ("“{}” ", 8), ("({}) ", 6), ("{}; ", 5), ("{}: ", 5), ("{}! ", 3),
             ("{}? ", 3), ("{}—", 4), ("{}…\n", 2), ("'{}' ", 3), ("{}\t", 2),
             ("{}  ", 3), ("{}\u00a0", 1), ("— ", 2))
ZIPF_S = 1.05


def vocabulary(rng: random.Random, size: int) -> list:
    """Made-up words, shorter for frequent ranks; some with a non-ASCII letter."""
    words, seen = [], set()
    while len(words) < size:
        rank = len(words) + 1
        length = max(1, min(16, int(rng.gauss(2.5 + math.log2(rank) / 2.2, 1.3))))
        word = "".join(rng.choices(LETTERS, LETTER_WEIGHTS, k=length))
        if rng.random() < 0.04:
            at = rng.randrange(len(word) + 1)
            word = word[:at] + rng.choice(ACCENTS) + word[at:]
        if word not in seen:
            seen.add(word)
            words.append(word)
    for i, word in enumerate(REAL_WORDS):
        words.insert(50 + 37 * i, word)
    return words


def write_corpus(path: Path, size: int, seed: int, vocab: int = 40_000) -> int:
    """Write about ``size`` bytes of text; returns the bytes written."""
    rng = random.Random(seed)
    forms, cum, total = [], [], 0.0
    for rank, word in enumerate(vocabulary(rng, vocab), 1):
        for form, share in ((word, 0.86), (word.capitalize(), 0.11), (word.upper(), 0.03)):
            total += share / rank ** ZIPF_S
            forms.append(form)
            cum.append(total)
    templates = [t for t, _ in TEMPLATES]
    weights = [w for _, w in TEMPLATES]
    written = 0
    with open(path, "wb") as f:
        while written < size:
            words = rng.choices(forms, cum_weights=cum, k=50_000)
            data = "".join(map(str.format, rng.choices(templates, weights, k=50_000),
                               words)).encode("utf-8")
            f.write(data)
            written += len(data)
    return written


def repeat_file(source: Path, target: Path, times: int) -> None:
    with open(target, "wb") as out:
        for _ in range(times):
            with open(source, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 24)


# ------------------------------------------------- contenders run in a child
def tutorial(path: str, numwords: int = 10):
    """The tutorial's python_tutorial_task.py, its counting lines as written (the
    node's locale is UTF-8, so the encoding is spelled out)."""
    with open(path, encoding="utf-8") as f:
        words = [word.strip(string.punctuation) for word in f.read().split()]
    word_counts = collections.Counter(words)
    return word_counts.most_common(numwords)


KERNELS = {
    "tutorial": tutorial,
    "single": lambda path: task.top_words(task.count_words(path, workers=1), 10),
    "multi": lambda path: task.top_words(task.count_words(path), 10),
}


def run_child(name: str, path: str) -> None:
    """--run mode: time one kernel in this fresh interpreter, print JSON."""
    start = time.perf_counter()
    top = KERNELS[name](path)
    print(json.dumps({"seconds": time.perf_counter() - start, "top": top}))


# ------------------------------------------------------------- measurement
def tree_rss_kb(pid: int, include_root: bool = True) -> int:
    """Sum of VmRSS over pid's descendants (and pid); 0 once they are gone."""
    total, todo = 0, [(pid, include_root)]
    while todo:
        p, counted = todo.pop()
        try:
            if counted:
                with open("/proc/%d/status" % p) as f:
                    total += next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [(int(c), True) for c in f.read().split()]
        except (OSError, ValueError):
            pass
    return total


def run_measured(argv, env=None, sample_from: int = 0):
    """Run argv; return (wall seconds, CPU seconds and ru_maxrss KB of it and its
    reaped children, peak sampled RSS KB of its descendants or 0, stdout)."""
    out = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=env)
    peak, done = [0], threading.Event()

    def sampler():
        while not done.wait(0.02):
            peak[0] = max(peak[0], tree_rss_kb(proc.pid, include_root=False))

    thread = threading.Thread(target=sampler, daemon=True)
    if sample_from:
        thread.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    done.set()
    if sample_from:
        thread.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    out.seek(0)
    text = out.read().decode("utf-8", "replace")
    out.close()
    if proc.returncode != 0:
        raise SystemExit("!!! %s failed (%d): %s" % (" ".join(map(str, argv)), proc.returncode, err))
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, peak[0], text


# A child forked from this (large) bench process starts with the bench's resident
# pages, which its ru_maxrss would keep; a small launcher forks the task instead.
LAUNCHER = """import json, os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "maxrss": usage.ru_maxrss}))
"""


def run_memory(argv, env=None):
    """(wall s, ru_maxrss KB of argv and its children, peak sampled tree RSS KB)."""
    elapsed, _, _, tree, text = run_measured([sys.executable, "-c", LAUNCHER] + argv,
                                             env=env, sample_from=1)
    result = json.loads(text)
    if result["code"] != 0:
        raise SystemExit("!!! %s failed (%d)" % (" ".join(argv), result["code"]))
    return elapsed, result["maxrss"], tree


def python3() -> str:
    """The interpreter ``python3`` runs (resolved once: a pyenv-style shim on PATH
    would add its own start-up to every timed run)."""
    global _PYTHON3
    if not _PYTHON3:
        found = shutil.which("python3")
        _PYTHON3 = sys.executable
        if found:
            _PYTHON3 = subprocess.run([found, "-c", "import sys; print(sys.executable)"],
                                      capture_output=True, text=True).stdout.strip() or found
    return _PYTHON3


_PYTHON3 = ""


def contenders(path: Path) -> dict:
    """name -> function returning the seconds of one run."""
    c_env = dict(os.environ, LC_ALL="C")
    task_env = {k: v for k, v in os.environ.items() if k != task.SAS_ENV}

    def shell(argv, env):
        return lambda: run_measured(argv, env=env)[:2]

    def child(name):
        def run():
            _, cpu, _, _, text = run_measured([sys.executable, __file__, "--run", name, str(path)])
            return json.loads(text)["seconds"], cpu
        return run

    return {
        "wc -w": shell(["wc", "-w", str(path)], c_env),
        "tr/awk one-liner": shell(["sh", "-c", ONE_LINER, "sh", str(path)], c_env),
        "tutorial algorithm": child("tutorial"),
        "task kernel, 1 process": child("single"),
        "task kernel, %d processes" % task.usable_cpus(): child("multi"),
        "python3 node/task.py (subprocess)": shell(
            [python3(), str(TASK), "--filepath", str(path), "--numwords", "10"], task_env),
    }


def machine() -> list:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f
                          if l.startswith("model name")), model)
    except OSError:
        pass
    awk = subprocess.run(["sh", "-c", "awk -W version 2>/dev/null || awk --version"],
                         capture_output=True, text=True).stdout.splitlines()[:1]
    return ["nproc: %d (usable: %d)" % (os.cpu_count() or 0, task.usable_cpus()),
            "CPU: %s" % model,
            "python: %s %s (kernels); python3 for the task: %s" % (
                platform.python_implementation(), platform.python_version(), python3()),
            "awk: %s" % (awk[0] if awk else "?"),
            "parallel capacity: " + parallel_capacity(),
            "load average at start: %.2f %.2f %.2f" % os.getloadavg()]


SPIN = "import time; t = time.process_time(); sum(range(30_000_000)); print(time.process_time() - t)"


def parallel_capacity() -> str:
    """How much CPU-bound work N processes get done at once, relative to one."""
    n = task.usable_cpus()

    def spin(k):
        procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE,
                                  text=True) for _ in range(k)]
        return [float(p.communicate()[0]) for p in procs]

    alone = min(min(spin(1)) for _ in range(3))  # best of 3: noise only slows
    together = min(max(spin(n)) for _ in range(3))
    return "%d CPU-bound processes at once run %.2fx the work of one (%.2f s alone, %.2f s " \
        "each together)" % (n, n * alone / together, alone, together)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, help="corpus size (default 100, quick 10)")
    parser.add_argument("--big-gb", type=float, help="big file size (default 1, quick 0.1)")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--repeat", type=int, help="repeats (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 10 MB corpus, 0.1 GB big file, 1 repeat")
    parser.add_argument("--json-out", type=Path, metavar="FILE",
                        help="write the key figures as JSON (for bench/run.py)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vocab", type=int, default=40_000,
                        help="made-up words in the vocabulary (default 40000)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip comparing the counts with the reference counter")
    parser.add_argument("--run", nargs=2, metavar=("KERNEL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_child(*args.run)
        return 0
    for name, full, quick in (("size_mb", 100, 10), ("big_gb", 1, 0.1), ("repeat", 3, 1)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)

    print("# bench/kernel.py: node/task.py word counting vs same-run baselines")
    for line in machine():
        print("- " + line)
    workdir = Path(tempfile.mkdtemp(prefix="topwords-kernel-"))
    try:
        return measure(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(args, workdir: Path) -> int:
    corpus = workdir / "corpus.txt"
    start = time.perf_counter()
    size = write_corpus(corpus, int(args.size_mb * 2**20), args.seed, args.vocab)
    mb = size / 1e6
    print("- corpus: %.1f MB (%d bytes, seed %d, %d-word vocabulary) generated in %.1f s in %s"
          % (mb, size, args.seed, args.vocab, time.perf_counter() - start, workdir))

    if not args.no_verify:
        start = time.perf_counter()
        fast = task.count_words(corpus)
        with open(corpus, "rb") as stream:
            reference = task._count_reference(stream)
        same = fast == reference and fast == task.count_words(corpus, workers=1)
        print("- counts equal to the reference counter (%d words, %d distinct): %s (%.1f s)"
              % (sum(reference.values()), len(reference), "yes" if same else "NO",
                 time.perf_counter() - start))
        if not same:
            print("!!! FAILURE: the fast counter differs from the reference")
            return 1

    runs = contenders(corpus)
    times = {name: [] for name in runs}
    cpus = {name: [] for name in runs}
    for _ in range(args.repeat):  # round-robin: noise spreads over everyone
        for name, run in runs.items():
            seconds, cpu = run()
            times[name].append(seconds)
            cpus[name].append(cpu)
    medians = {name: statistics.median(t) for name, t in times.items()}
    tutorial_s = medians["tutorial algorithm"]
    one_liner_s = medians["tr/awk one-liner"]
    print("\n## Throughput on %.1f MB (median and min of %d, round-robin)\n" % (mb, args.repeat))
    print("| contender | median s | min s | MB/s | vs tutorial | vs one-liner | CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, t in times.items():
        print("| %s | %.2f | %.2f | %.1f | %.2fx | %.2fx | %.2f |" % (
            name, medians[name], min(t), mb / medians[name],
            tutorial_s / medians[name], one_liner_s / medians[name],
            statistics.median(cpus[name])))
    print("\n(s: wall clock; the kernels and the tutorial are timed inside a fresh "
          "interpreter, the rest from outside. CPU s: user+sys of the whole process tree, "
          "interpreter start included.)")

    print("\n## Peak memory of python3 node/task.py\n")
    print("| file | MB | workers | s | MB/s | ru_maxrss MB (largest process) "
          "| sampled tree RSS MB (sum) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    argv = [python3(), str(TASK), "--numwords", "10", "--filepath"]
    env = {k: v for k, v in os.environ.items() if k != task.SAS_ENV}
    files = [("corpus", corpus, size)]
    if not args.skip_big:
        times_big = max(1, round(args.big_gb * 2**30 / size))
        need = times_big * size + (256 << 20)
        free = shutil.disk_usage(workdir).free
        if free < need:
            print("(big file skipped: %.1f GB free in %s, %.1f GB needed)"
                  % (free / 2**30, workdir, need / 2**30))
        else:
            big = workdir / "big.txt"
            repeat_file(corpus, big, times_big)
            files.append(("corpus x %d" % times_big, big, times_big * size))
    memory = {}
    for workers in ("default", "1"):  # one process: memory of the whole vocabulary
        extra = [] if workers == "default" else ["--workers", workers]
        for label, path, nbytes in files:
            elapsed, maxrss, tree = run_memory(argv + [str(path)] + extra, env=env)
            memory[workers, label] = (maxrss, tree)
            print("| %s | %.0f | %s | %.2f | %.1f | %.1f | %.1f |" % (
                label, nbytes / 1e6, workers, elapsed, nbytes / 1e6 / elapsed,
                maxrss / 1024, tree / 1024))
    for _, path, _ in files[1:]:
        path.unlink()

    task_s = medians["python3 node/task.py (subprocess)"]
    multi_s = medians["task kernel, %d processes" % task.usable_cpus()]
    print("\n## Targets\n")
    print("| target | measured | verdict |")
    print("|---|---:|---|")
    rows = []
    for what, seconds in (("node/task.py subprocess", task_s), ("multi-process kernel", multi_s)):
        ratio = tutorial_s / seconds
        print("| %s >= %.1fx the tutorial | %.2fx | %s |" % (
            what, TARGET_TUTORIAL, ratio, verdict(ratio >= TARGET_TUTORIAL)))
        rows.append(figure("kernel: %s on %.0f MB" % (what, mb), mb / seconds, "MB/s",
                           baseline="tutorial algorithm", baseline_value=mb / tutorial_s,
                           target=">= %gx" % TARGET_TUTORIAL, verdict=ratio >= TARGET_TUTORIAL))
        ratio = one_liner_s / seconds
        print("| %s >= %.1fx the one-liner | %.2fx | %s |" % (
            what, TARGET_ONE_LINER, ratio, verdict(ratio >= TARGET_ONE_LINER)))
        rows.append(figure("kernel: %s on %.0f MB" % (what, mb), mb / seconds, "MB/s",
                           baseline="tr/awk one-liner", baseline_value=mb / one_liner_s,
                           target=">= %gx" % TARGET_ONE_LINER, verdict=ratio >= TARGET_ONE_LINER))
    rows.append(figure("kernel: node/task.py subprocess on %.0f MB" % mb, mb / task_s, "MB/s",
                       baseline="wc -w (floor)", baseline_value=mb / medians["wc -w"]))
    if len(files) == 2:
        for workers in ("default", "1"):
            (small_rss, small_tree), (big_rss, big_tree) = (
                memory[workers, label] for label, _, _ in files)
            ratio = big_rss / small_rss
            if workers == "default":
                print("| memory(big) <= %.1fx memory(corpus), ru_maxrss | %.2fx | %s |" % (
                    TARGET_MEMORY, ratio, verdict(ratio <= TARGET_MEMORY)))
                rows.append(figure(
                    "kernel: task peak memory (ru_maxrss) on %s (%.1f GB)"
                    % (files[1][0], files[1][2] / 1e9), big_rss / 1024, "MB",
                    baseline="the same on the %.0f MB corpus" % mb,
                    baseline_value=small_rss / 1024, target="<= %gx" % TARGET_MEMORY,
                    verdict=ratio <= TARGET_MEMORY))
            else:
                print("| (info) the same with --workers 1 | %.2fx | - |" % ratio)
            print("| (info) sampled tree RSS sum, big / corpus, workers %s | %.2fx | - |"
                  % (workers, big_tree / max(small_tree, 1)))
        print("\n(Memory grows with the vocabulary a process has seen: on the corpus each of "
              "several workers has seen only part of it, on the big file all of it; one "
              "process sees all of it in both.)")
    print("\n- load average at end: %.2f %.2f %.2f" % os.getloadavg())
    write_result(args.json_out, "kernel", rows, [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
