"""The Batch emulator's front door on its own: N sequential signed
``GET /pools`` requests over one kept-alive connection (``http.client``,
signed with the emulator's own shared-key helper), against a
``BatchHttpServer`` on an engine stub with no pools, in a process of its own.

    .venv/bin/python bench/front_door.py [--requests 2000] [--repeats 3]

Prints, for each repeat, the wall-clock seconds and the server process's CPU
seconds (user + system, from /proc: steadier than wall-clock time on a
loaded machine), then the median of each. Standalone (not a section of
bench/run.py): it times the HTTP layer only (parsing, authentication,
routing, rendering), no Docker, no Azurite.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import multiprocessing
import os
import statistics
import time
from email.utils import formatdate

from topwords.backends.local.emulator.auth import sign, string_to_sign
from topwords.backends.local.emulator.routing import Service
from topwords.backends.local.emulator.server import BatchHttpServer
from topwords.backends.local.emulator.versions import LATEST_API_VERSION

ACCOUNT = "bench"
KEY = base64.b64encode(b"b" * 64).decode()
PATH = f"/pools?api-version={LATEST_API_VERSION}"


class NoPools:
    def pool_records(self):
        return []


def serve(ports: multiprocessing.Queue) -> None:
    server = BatchHttpServer(("127.0.0.1", 0), Service(engine=NoPools()), {ACCOUNT: KEY})
    ports.put(server.server_address[1])
    server.serve_forever()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(port: int, requests: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    started = time.perf_counter()
    for _ in range(requests):
        headers = {"ocp-date": formatdate(usegmt=True), "Host": f"127.0.0.1:{port}"}
        signature = sign(KEY, string_to_sign("GET", PATH, headers, ACCOUNT))
        headers["Authorization"] = f"SharedKey {ACCOUNT}:{signature}"
        conn.request("GET", PATH, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200 or response.will_close:
            raise SystemExit(f"unexpected answer {response.status} (closed: "
                             f"{response.will_close})")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports,), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        run(port, 50)  # warm up
        times, cpu = [], []
        for _ in range(args.repeats):
            before = cpu_seconds(server.pid)
            times.append(run(port, args.requests))
            cpu.append(cpu_seconds(server.pid) - before)
    finally:
        server.terminate()
        server.join(5)
    median, cpu_median = statistics.median(times), statistics.median(cpu)
    print("wall (s):", " ".join(f"{t:.3f}" for t in times),
          "| server CPU (s):", " ".join(f"{t:.2f}" for t in cpu))
    print(f"median {median:.3f} s wall for {args.requests} requests "
          f"({args.requests / median:.0f} requests/s, {median / args.requests * 1e6:.0f} us "
          f"each); server CPU {cpu_median:.2f} s ({cpu_median / args.requests * 1e6:.0f} us "
          "each)")


if __name__ == "__main__":
    main()
