"""The Node.js Batch SDK (@azure/batch 10.2.0, api-version 2022-10-01.16.0)
runs a program written for Azure Batch against the emulator unchanged:
pools and jobs created, listed and deleted (its DELETE signs an absent
Content-Length), tasks with a dependency, output files after success and
after failure, task files, errors, a resize (tests/clients/node/scenario.js)."""

from __future__ import annotations

import shutil

import pytest

from client_rig import HERE, Storage, program_environment, require, run_checked

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

NODE_DIR = HERE / "node"


def test_node_sdk_program_runs_unchanged_on_the_emulator(batch_emulator, tmp_path):
    require(NODE_DIR / "node_modules" / "@azure" / "batch", "@azure/batch")
    node = shutil.which("node")
    assert node, "node is not on PATH"
    storage = Storage(batch_emulator)
    try:
        env = program_environment(batch_emulator, storage, "one two three four")
        # every answer it received, checked against the spec of its api-version
        out = run_checked(batch_emulator, tmp_path / "answers.jsonl", [node, "scenario.js"],
                          env, NODE_DIR, api_version="2022-10-01.16.0", min_bodies=20)
        assert "node scenario: 8 checks passed" in out, out
        assert storage.names() == ["failed/stderr.txt", "failed/stdout.txt", "input.txt",
                                 "ok/result.txt"]
        assert storage.read("ok/result.txt") == b"4\n"
        assert storage.read("failed/stderr.txt") == b"why\n"
    finally:
        storage.close()
    pools = [r.info.spec.id for r in batch_emulator.engine.pool_records()]
    assert not [p for p in pools if p.startswith("node-pool-")], pools
