"""Staging benchmark: bulk blob transfers through the project's Storage, with
same-run one-at-a-time baselines.

    .venv/bin/python bench/staging.py [--quick] [--repeat N] [--json-out FILE]

Against a private in-memory Azurite (``AzuriteServer``) and ``AzureBlobStorage``
(the class the local and Azure backends share), for two data sets:

* small: 500 files of 2-10 KB (deterministic text), the shape of a job's inputs;
* large: 4 files of 64 MiB (deterministic bytes), generated to a temp dir;

it times an upload then a download of the whole set, each way:

* ``bulk``: the ``Storage`` bulk helpers ``upload_files`` / ``download_container``
  with the class's defaults (``max_concurrency`` files in parallel, each blob
  with ``transfer_concurrency`` blocks in parallel);
* ``loop, 1 block``: the baseline, a loop of ``upload_file`` / ``download_file``
  on an instance with ``max_concurrency = transfer_concurrency = 1``;
* ``loop, N blocks`` (large set only): the same loop with the default
  ``transfer_concurrency``, to show how much comes from blocks in parallel
  within one blob and how much from files in parallel.

Every download is checked against its sources (count, every size, a SHA-256
of a sample) so a broken transfer cannot look fast; a mismatch is printed as
``!!! FAILURE`` and the exit code is 1. Modes are interleaved within each
repeat so that noise from other work on the machine spreads over all of them.
Containers and temp files are removed, also on Ctrl-C. MB = 10^6 bytes.
``--json-out`` writes the key figures for bench/run.py's summary.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import fail, figure, finish, machine  # bench/common.py
from cpu import CpuMeter, group_pids  # bench/cpu.py

from topwords.backends.azure.blob_storage import AzureBlobStorage, BlobStorageConfig
from topwords.backends.local.azurite import AZURITE_ACCOUNT, AzuriteServer

WORDS = ("azure batch pool node task job blob container storage emulator docker azurite "
         "shared access signature output input word count river stone lantern").split()
MIB = 2**20


class OneAtATime(AzureBlobStorage):
    """The baseline: one file at a time, one block at a time."""

    max_concurrency = 1
    transfer_concurrency = 1


class FilesOneAtATime(AzureBlobStorage):
    """One file at a time, but the default blocks in parallel within a blob."""

    max_concurrency = 1


# ---------------------------------------------------------------- data sets
@dataclass
class DataSet:
    name: str
    files: list[Path]
    root: Path

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files)

    def blob(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def make_small(root: Path, count: int) -> DataSet:
    """``count`` text files of 2-10 KB, in 10 sub-folders (blob names with '/')."""
    rng = random.Random(5)
    files = []
    for n in range(count):
        size = rng.randint(2_000, 10_000)
        text = " ".join(WORDS[(n * 7 + i * i) % len(WORDS)] for i in range(size // 5))
        path = root / f"part{n % 10}" / f"doc{n:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode()[:size])
        files.append(path)
    return DataSet("small", files, root)


def make_large(root: Path, count: int, size: int) -> DataSet:
    """``count`` files of ``size`` pseudo-random bytes (seeded, so repeatable)."""
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(count):
        path = root / f"big{n}.bin"
        rng = random.Random(100 + n)
        with open(path, "wb") as out:
            for _ in range(size // MIB):
                out.write(rng.randbytes(MIB))
            out.write(rng.randbytes(size % MIB))
        files.append(path)
    return DataSet("large", files, root)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def verify(data: DataSet, got: list[Path], directory: Path, what: str) -> None:
    """Every source file is there with its size; a sample also by SHA-256."""
    want = {data.blob(p): p for p in data.files}
    have = {p.relative_to(directory).as_posix(): p for p in got}
    if set(have) != set(want):
        missing, extra = set(want) - set(have), set(have) - set(want)
        fail(f"{what}: {len(missing)} blob(s) missing, {len(extra)} unexpected")
        return
    bad = [n for n in want if have[n].stat().st_size != want[n].stat().st_size]
    sample = sorted(want)[::max(1, len(want) // 20)]
    bad += [n for n in sample if n not in bad and sha256(have[n]) != sha256(want[n])]
    if bad:
        fail(f"{what}: {len(bad)} file(s) differ from their source, e.g. {bad[0]}")


# ---------------------------------------------------------------- transfers
def upload_loop(storage, container: str, data: DataSet) -> None:
    for path in data.files:
        storage.upload_file(container, data.blob(path), path)


def download_loop(storage, container: str, directory: Path) -> list[Path]:
    targets = []
    for name in storage.list_blobs(container):
        target = directory.joinpath(*name.split("/"))
        storage.download_file(container, name, target)
        targets.append(target)
    return targets


def upload_bulk(storage, container: str, data: DataSet) -> None:
    storage.upload_files(container, [(p, data.blob(p)) for p in data.files])


def download_bulk(storage, container: str, directory: Path) -> list[Path]:
    return storage.download_container(container, directory)


@dataclass
class Mode:
    label: str
    storage: AzureBlobStorage
    upload: object
    download: object


@dataclass
class Timing:
    """One timed transfer: wall seconds, and CPU seconds of us and Azurite."""

    wall: float
    cpu_python: float
    cpu_azurite: float
    machine_busy: float  # share of the machine's CPU time that was busy


def timed(meter: CpuMeter, fn) -> tuple[Timing, object]:
    meter.start()
    start = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    used = meter.stop()
    return Timing(wall, used["python"], used["azurite"],
                  meter.machine_busy / max(meter.machine_total, 1e-9)), result


def run_once(mode: Mode, data: DataSet, work: Path, tag: str,
             meter: CpuMeter) -> tuple[Timing, Timing]:
    """Upload then download ``data`` one way; returns their timings."""
    container = f"bench-{data.name}-{tag}"
    directory = work / f"out-{tag}"
    storage = mode.storage
    storage.create_container(container)
    try:
        up, _ = timed(meter, lambda: mode.upload(storage, container, data))
        down, got = timed(meter, lambda: mode.download(storage, container, directory))
        verify(data, got, directory, f"{data.name} set, {mode.label}")
    finally:
        storage.delete_container(container)
        shutil.rmtree(directory, ignore_errors=True)
    return up, down


# ---------------------------------------------------------------- report
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 repeat, 100 small files, 2 large files of 16 MiB")
    parser.add_argument("--repeat", type=int, help="repeats per figure (default 5)")
    parser.add_argument("--json-out", type=Path, metavar="FILE",
                        help="write the key figures as JSON (for bench/run.py)")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 5)
    n_small, n_large, large_size = (100, 2, 16 * MIB) if args.quick else (500, 4, 64 * MIB)

    print("machine:\n  " + "\n  ".join(machine()))
    print(f"repeats {repeat}; small set {n_small} files of 2-10 KB, large set {n_large} "
          f"files of {large_size // MIB} MiB; MB = 10^6 bytes\n", flush=True)

    with tempfile.TemporaryDirectory(prefix="topwords-bench-staging-") as tmp, \
            AzuriteServer() as azurite:
        work = Path(tmp)
        config = BlobStorageConfig(account_url=azurite.blob_url, account_name=AZURITE_ACCOUNT,
                                   account_key=azurite.account_key)
        concurrent = AzureBlobStorage(config)
        baseline, blocks_only = OneAtATime(config), FilesOneAtATime(config)
        pgid = azurite._process.pid  # its own session: pgid == pid
        meter = CpuMeter({"python": lambda: [(os.getpid(), "self")],
                          "azurite": lambda: [(pid, "self") for pid in group_pids(pgid)]})
        try:
            start = time.perf_counter()
            small = make_small(work / "small", n_small)
            large = make_large(work / "large", n_large, large_size)
            print(f"generated {small.total_bytes / 1e6:.1f} MB + {large.total_bytes / 1e6:.1f} "
                  f"MB in {time.perf_counter() - start:.1f} s\n", flush=True)
            bulk = f"bulk ({concurrent.max_concurrency} files x " \
                   f"{concurrent.transfer_concurrency} blocks)"
            modes = {
                "small": [Mode("loop, 1 block (baseline)", baseline, upload_loop, download_loop),
                          Mode(bulk, concurrent, upload_bulk, download_bulk)],
                "large": [Mode("loop, 1 block (baseline)", baseline, upload_loop, download_loop),
                          Mode(f"loop, {blocks_only.transfer_concurrency} blocks", blocks_only,
                               upload_loop, download_loop),
                          Mode(bulk, concurrent, upload_bulk, download_bulk)],
            }
            sets = {"small": small, "large": large}
            for set_name, set_modes in modes.items():  # warm-up: connections, code paths
                for m, mode in enumerate(set_modes):
                    run_once(mode, DataSet(set_name, sets[set_name].files[:2],
                                           sets[set_name].root), work, f"w-{m}", meter)
            times: dict[tuple[str, str], list[tuple[Timing, Timing]]] = {}
            for r in range(repeat):
                for set_name, set_modes in modes.items():
                    for m, mode in enumerate(set_modes):
                        up, down = run_once(mode, sets[set_name], work, f"{r}-{m}", meter)
                        times.setdefault((set_name, mode.label), []).append((up, down))
                        print(f"  repeat {r + 1}: {set_name:<5} {mode.label:<34} "
                              f"up {up.wall:6.2f} s  down {down.wall:6.2f} s", flush=True)
        finally:
            for storage in (concurrent, baseline, blocks_only):
                storage.close()
        rows = report(modes, sets, times, repeat)
    return finish(args.json_out, "staging", rows,
                  "every transfer verified (count, sizes, SHA-256 sample); containers removed")


def report(modes, sets, times, repeat: int) -> list[dict]:
    """Print the table; return the summary rows (bulk against the baseline:
    blobs/s for the small set, MB/s for the large one)."""
    rows = []
    print(f"\n  {'set / way / mode':<46} {'median s':>8} {'min s':>6} {'MB/s':>7} "
          f"{'blobs/s':>7} {'vs base':>7} {'CPU py':>6} {'CPU az':>6} {'busy':>5}")
    for set_name, set_modes in modes.items():
        data = sets[set_name]
        mb, count = data.total_bytes / 1e6, len(data.files)
        print(f"  {set_name} set: {count} files, {mb:.1f} MB")
        for way, index in (("upload", 0), ("download", 1)):
            base = statistics.median(t[index].wall
                                     for t in times[(set_name, set_modes[0].label)])
            for mode in set_modes:
                runs = [t[index] for t in times[(set_name, mode.label)]]
                med = statistics.median(r.wall for r in runs)
                py = statistics.median(r.cpu_python for r in runs)
                az = statistics.median(r.cpu_azurite for r in runs)
                busy = statistics.median(r.machine_busy for r in runs)
                print(f"    {way + ', ' + mode.label:<44} {med:8.3f} "
                      f"{min(r.wall for r in runs):6.3f} {mb / med:7.1f} {count / med:7.1f} "
                      f"{base / med:6.2f}x {py:6.2f} {az:6.2f} {busy:5.0%}")
                if mode is set_modes[-1]:  # the bulk helpers
                    size, unit = (count, "blobs/s") if set_name == "small" else (mb, "MB/s")
                    what = (f"{count} files of 2-10 KB" if set_name == "small"
                            else f"{count} files of {data.files[0].stat().st_size // MIB} MiB")
                    rows.append(figure(f"staging: {way} {what}, concurrent", size / med, unit,
                                       baseline="one at a time", baseline_value=size / base))
    print(f"  (medians of {repeat}; MB/s and blobs/s from the median time; 'vs base' = "
          "baseline time / this time, i.e. the speed-up;\n   CPU py / CPU az = CPU seconds "
          "of this Python process / of Azurite during the transfer; busy = share of the\n"
          f"   machine's {os.cpu_count()} cores busy during it, other people's work included)")
    return rows


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; containers and temp files were removed", file=sys.stderr)
        sys.exit(130)
