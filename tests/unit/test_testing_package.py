"""topwords.testing as an outside backend uses it: a test module of its own
project (not this repo's conftest) subclasses the contract classes, gives
them targets, and pytest runs the contract; what a target does not claim is
skipped with the reason, and a storage that breaks the contract fails it,
with the values shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from topwords.testing import ComputeTarget, StorageTarget, claims, requires

TESTS = Path(__file__).resolve().parents[1]

OUTSIDE_MODULE = '''
import pytest
from fakes import FakeCompute, FakeStorage
from topwords.testing import ComputeContract, ComputeTarget, StorageContract, StorageTarget


class UnsortedStorage(FakeStorage):
    def list_blobs(self, container, prefix=""):
        return sorted(super().list_blobs(container, prefix), reverse=True)


@pytest.fixture(scope="class", params=["fake", "unsorted"])
def storage_target(request):
    storage = FakeStorage() if request.param == "fake" else UnsortedStorage()
    return StorageTarget(request.param, storage, serves_sas_urls=False)


@pytest.fixture(scope="class")
def compute_target():
    return ComputeTarget("fake", FakeCompute(FakeStorage(), lambda spec: (0, None)),
                         has_nodes=False)


class TestOutsideStorage(StorageContract):
    pass


class TestOutsideCompute(ComputeContract):
    pass
'''


@pytest.fixture(scope="module")
def outside_run(tmp_path_factory) -> subprocess.CompletedProcess:
    project = tmp_path_factory.mktemp("outside")
    (project / "test_outside.py").write_text(OUTSIDE_MODULE, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider",
                           "test_outside.py"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=120)


def outcomes(output: str, word: str) -> list[str]:
    return re.findall(rf"^{word} test_outside\.py::(\S+)", output, re.MULTILINE)


def test_outside_storage_target_passes_what_it_claims_and_skips_the_rest(outside_run):
    out = outside_run.stdout
    passed = [t for t in outcomes(out, "PASSED") if t.startswith("TestOutsideStorage")]
    assert len([t for t in passed if "[fake" in t]) >= 20, out
    assert not [t for t in outcomes(out, "FAILED") if "[fake" in t], out
    skipped = re.findall(r"^SKIPPED \[(\d+)\] \S+:\d+: target fake does not claim "
                         r"serves_sas_urls$", out, re.MULTILINE)
    assert sum(map(int, skipped)) >= 10, out


def test_outside_storage_that_breaks_the_contract_fails_with_its_values(outside_run):
    out = outside_run.stdout
    assert outside_run.returncode == 1, out + outside_run.stderr
    assert ("TestOutsideStorage::test_list_blobs_returns_sorted_names[unsorted]"
            in outcomes(out, "FAILED")), out
    assert "AssertionError: assert ['c', 'b.txt'" in out  # rewritten: values shown


def test_outside_compute_without_nodes_runs_only_the_node_free_tests(outside_run):
    out = outside_run.stdout
    passed = sorted(t for t in outcomes(out, "PASSED") if t.startswith("TestOutsideCompute"))
    assert passed == [f"TestOutsideCompute::{name}" for name in (
        "test_deletes_are_idempotent", "test_job_errors_not_found_and_exists",
        "test_pool_errors_not_found_and_exists",
        "test_target_claims_nothing_its_compute_does_not")], out
    assert re.search(r"^SKIPPED \[\d+\] \S+:\d+: target fake does not claim has_nodes$",
                     out, re.MULTILINE), out


def test_compute_target_takes_the_computes_flags_unless_it_claims_less():
    class Flagged:
        supports_task_dependencies, supports_output_files = True, False
    target = ComputeTarget("t", Flagged())
    assert (target.supports_task_dependencies, target.supports_output_files) == (True, False)
    less = ComputeTarget("t", Flagged(), supports_task_dependencies=False)
    assert less.supports_task_dependencies is False
    assert not less.has_storage


def test_requires_names_only_known_capabilities():
    with pytest.raises(ValueError, match="has_node"):
        requires("has_node")


def test_claims_needs_every_required_flag():
    @requires("has_nodes", "has_storage")
    def needs_both():
        pass
    assert claims({"has_nodes": True, "has_storage": True}, needs_both)
    assert not claims({"has_nodes": True}, needs_both)
    assert claims({}, lambda: None)
    assert not claims(StorageTarget("s", storage=None, serves_sas_urls=False),
                      requires("serves_sas_urls")(lambda: None))
