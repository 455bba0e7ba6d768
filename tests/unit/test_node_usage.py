"""Node usage for the autoscale samples: Docker's stats parsed, a process
tree read from /proc, and successive readings turned into a CPU percentage."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from topwords.backends.local.node_usage import (
    NodeUsage, UsageMeter, docker_usage, process_tree_usage,
)

MB = 2**20


class FakeApi:
    def __init__(self, stats=None, error=None):
        self.stats_body, self.error, self.calls = stats, error, []

    def stats(self, container, **kwargs):
        self.calls.append((container, kwargs))
        if self.error is not None:
            raise self.error
        return self.stats_body


def stats(total_ns: int, usage: int, **detail) -> dict:
    return {"cpu_stats": {"cpu_usage": {"total_usage": total_ns}},
            "memory_stats": {"usage": usage, "stats": detail}}


@pytest.mark.parametrize("detail", [{"total_inactive_file": 40 * MB},  # cgroup v1
                                    {"inactive_file": 40 * MB}])  # cgroup v2
def test_docker_stats_give_cpu_seconds_and_memory_less_inactive_cache(detail):
    api = FakeApi(stats(2_500_000_000, 100 * MB, **detail))
    assert docker_usage(api, "c1") == NodeUsage(2.5, 60 * MB)
    assert api.calls == [("c1", {"stream": False, "one_shot": True})]  # no 1 s wait


def test_a_container_docker_cannot_measure_reads_as_none():
    assert docker_usage(FakeApi(error=RuntimeError("No such container")), "c1") is None
    assert docker_usage(FakeApi({"cpu_stats": {}}), "c1") is None  # a paused node's stats


def test_a_process_tree_counts_its_children_cpu_and_memory():
    before = process_tree_usage(os.getpid())
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                             "while time.process_time() - t < 0.5: pass\n"
                             "input()"], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the child has burnt its 0.5 s of CPU
            during = process_tree_usage(os.getpid())
            if during.cpu_seconds - before.cpu_seconds >= 0.5:
                break
            time.sleep(0.05)
        assert during.cpu_seconds - before.cpu_seconds >= 0.5
        assert during.memory_bytes > before.memory_bytes  # the child's resident pages
    finally:
        busy.communicate(b"\n")
    after = process_tree_usage(os.getpid())  # reaped: its CPU moved into our cutime
    assert after.cpu_seconds >= during.cpu_seconds


def test_a_gone_process_reads_as_none():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    assert process_tree_usage(int(done.stdout)) is None


def test_the_meter_gives_cpu_percent_between_readings_averaged_over_nodes():
    meter = UsageMeter(cpus=2)
    first = meter.read({"a": NodeUsage(10.0, 100 * MB), "b": NodeUsage(0.0, 300 * MB)}, now=100)
    assert first == {"$MemoryBytes": 200.0}  # no CPU percent before a second reading
    second = meter.read({"a": NodeUsage(20.0, 100 * MB), "b": NodeUsage(5.0, 100 * MB)}, now=110)
    # a: 10 s of CPU in 10 s on 2 CPUs = 50 %; b: 5 s = 25 %
    assert second == {"$CPUPercent": 37.5, "$MemoryBytes": 100.0}


def test_the_meter_forgets_nodes_that_left_or_restarted():
    meter = UsageMeter(cpus=1)
    meter.read({"a": NodeUsage(5.0, MB), "b": NodeUsage(5.0, MB)}, now=0)
    assert meter.read({"a": NodeUsage(1.0, MB)}, now=10) == {"$MemoryBytes": 1.0}  # a restarted
    assert meter.read({"a": NodeUsage(2.0, MB), "b": NodeUsage(9.0, MB)},
                      now=20) == {"$CPUPercent": 10.0, "$MemoryBytes": 1.0}  # b is new again


def test_unmeasured_nodes_are_left_out_and_cpu_is_capped():
    meter = UsageMeter(cpus=1)
    assert meter.read({"a": None}) == {}
    meter.read({"a": NodeUsage(0.0, MB)}, now=0)
    assert meter.read({"a": NodeUsage(50.0, MB), "b": None}, now=10)["$CPUPercent"] == 100.0
