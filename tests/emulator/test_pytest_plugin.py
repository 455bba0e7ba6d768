"""The pytest plugin as its users meet it: loaded by its entry point in a
project with no conftest.py, light until a fixture is used, one emulator
per pytest process.

Each user session runs in a subprocess (its own pytest, like a user's).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import EMULATOR_PAGE_SIZE

PLUGIN = "topwords.backends.local.emulator.pytest_plugin"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOPWORDS_", "PYTEST_", "CI"))}
    return {**env, "TOPWORDS_LOCAL_WORK_DIR": str(tmp_path / "nodes"), **extra}


def project(tmp_path: Path, name: str, source: str) -> Path:
    """A user's project: one test file, no conftest.py."""
    root = tmp_path / name
    root.mkdir()
    (root / "test_user.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return root


def user_pytest(root: Path, *args: str, env: dict[str, str],
                timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=timeout)


# -- without services ---------------------------------------------------------------

def test_import_plugin_loads_no_sdk_and_starts_nothing():
    probe = (f"import sys, threading, {PLUGIN}\n"
             "heavy = sorted(m for m in sys.modules\n"
             "               if m.split('.')[0] in ('docker', 'azure', 'urllib3', 'requests'))\n"
             "print(heavy, threading.active_count())\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] 1"


LIGHT_SESSION = """
    import sys
    import threading

    import pytest


    def test_plugin_is_loaded_and_nothing_heavy_is_imported(request):
        assert request.config.pluginmanager.has_plugin("topwords")
        heavy = [m for m in sys.modules if m.split(".")[0] in ("docker", "azure")]
        assert heavy == []
        assert threading.active_count() == 1


    def test_unique_ids_differ_and_are_valid_names(batch_unique_id):
        ids = {batch_unique_id("pool") for _ in range(100)}
        assert len(ids) == 100
        assert all(i.startswith("pool-") and len(i) == 17 and i == i.lower() for i in ids)
        assert batch_unique_id().startswith("id-")


    @pytest.mark.parametrize("prefix", ["", "Pool", "a_b", "-x", "x" * 41])
    def test_unique_id_bad_prefix_is_refused(batch_unique_id, prefix):
        with pytest.raises(ValueError, match="prefix"):
            batch_unique_id(prefix)
"""


def test_user_session_without_conftest_gets_the_plugin_lightly(tmp_path):
    root = project(tmp_path, "light", LIGHT_SESSION)
    done = user_pytest(root, env=clean_env(tmp_path))
    assert "7 passed" in done.stdout, done.stdout + done.stderr


def test_no_topwords_option_turns_the_plugin_off(tmp_path):
    root = project(tmp_path, "off", """
        def test_ids(batch_unique_id):
            pass
    """)
    done = user_pytest(root, "-p", "no:topwords", env=clean_env(tmp_path))
    assert done.returncode == 1
    assert "fixture 'batch_unique_id' not found" in done.stdout


def test_the_plugin_offers_the_engines_node_runtimes():
    from topwords.backends.local.emulator import pytest_plugin
    from topwords.backends.local.runtime import RUNTIMES
    assert pytest_plugin.NODE_RUNTIMES == RUNTIMES


@pytest.mark.parametrize("where", ["option", "ini"])
def test_unknown_node_runtime_is_a_usage_error(tmp_path, where):
    root = project(tmp_path, where, "def test_nothing():\n    pass\n")
    args: tuple[str, ...] = ()
    if where == "option":
        args = ("--topwords-node-runtime", "vm")
    else:
        (root / "pytest.ini").write_text("[pytest]\ntopwords_node_runtime = vm\n")
    done = user_pytest(root, *args, env=clean_env(tmp_path))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert ("unknown node runtime 'vm' (choose from container, process)"
            in done.stderr), done.stderr
    assert "Traceback" not in done.stderr


class _Config:
    """What the plugin reads of a pytest config: an option and an ini value."""

    def __init__(self, option, ini="container"):
        self.option, self.ini = option, ini

    def getoption(self, name):
        return self.option

    def getini(self, name):
        return self.ini


@pytest.mark.parametrize("option, ini, expected", [
    ("docker", "process", "container"), ("container", "process", "container"),
    ("process", "container", "process"), (None, "process", "process"),
    (None, "docker", "container")])
def test_the_chosen_node_runtime_is_the_emulators_keyword(option, ini, expected):
    from topwords.backends.local.emulator.pytest_plugin import emulator_options
    assert emulator_options(_Config(option, ini)) == {"node_runtime": expected}


def test_emulator_that_cannot_start_fails_its_tests_with_one_clear_line(tmp_path):
    root = project(tmp_path, "broken", """
        def test_one(batch_client):
            pass

        def test_two(batch_emulator):
            pass
    """)
    missing = tmp_path / "no-azurite"
    done = user_pytest(root, env=clean_env(tmp_path, TOPWORDS_AZURITE_BIN=str(missing)))
    assert done.returncode == 1
    assert "2 errors" in done.stdout
    assert (f"the Batch emulator cannot start: azurite-blob not found at {missing}\n"
            "  hint: run `topwords local setup`") in done.stdout
    assert "Traceback" not in done.stdout and "another exception" not in done.stdout


# -- with Docker and Azurite -----------------------------------------------------------

USER_TESTS = """
    import os
    import time

    from azure.batch import models as bm


    def test_an_ubuntu_image_is_offered(batch_client):
        skus = [image.node_agent_sku_id for image in batch_client.list_supported_images()]
        assert any(sku.startswith("batch.node.ubuntu") for sku in skus)


    def test_a_task_runs_on_a_pool(batch_emulator, batch_client, batch_unique_id):
        with open(os.environ["EMULATOR_LOG"], "a") as log:
            log.write(batch_emulator.batch_url + "\\n")
        image = next(i for i in batch_client.list_supported_images()
                     if i.node_agent_sku_id.startswith("batch.node.ubuntu"))
        pool, job = batch_unique_id("pool"), batch_unique_id("job")
        batch_client.create_pool(bm.BatchPoolCreateOptions(
            id=pool, vm_size="standard_d2s_v3", target_dedicated_nodes=1,
            virtual_machine_configuration=bm.VirtualMachineConfiguration(
                image_reference=image.image_reference,
                node_agent_sku_id=image.node_agent_sku_id)))
        batch_client.create_job(bm.BatchJobCreateOptions(
            id=job, pool_info=bm.BatchPoolInfo(pool_id=pool)))
        batch_client.create_task(job, bm.BatchTaskCreateOptions(
            id="hello", command_line="/bin/bash -c 'echo hello from $AZ_BATCH_NODE_ID'"))
        deadline = time.monotonic() + 60
        while batch_client.get_task(job, "hello").state != bm.BatchTaskState.COMPLETED:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert batch_client.get_task(job, "hello").execution_info.exit_code == 0
        out = b"".join(batch_client.download_task_file(job, "hello", "stdout.txt"))
        assert out.decode().startswith("hello from ")


    def test_blobs_round_trip(blob_service_client, batch_unique_id):
        container = blob_service_client.create_container(batch_unique_id("data"))
        container.upload_blob("a.txt", b"some words")
        assert [b.name for b in container.list_blobs()] == ["a.txt"]
        assert container.download_blob("a.txt").readall() == b"some words"
"""


@pytest.mark.docker
@pytest.mark.azurite
def test_two_user_sessions_at_once_each_get_their_own_emulator_and_pass(tmp_path,
                                                                         docker_client):
    root = project(tmp_path, "user", USER_TESTS)
    runs = []
    for n in (1, 2):
        log = tmp_path / f"emulator-{n}.log"
        env = clean_env(tmp_path / str(n), EMULATOR_LOG=str(log))
        runs.append((log, subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    outputs = [proc.communicate(timeout=180)[0] for _, proc in runs]
    for (_, proc), output in zip(runs, outputs):
        assert proc.returncode == 0 and "3 passed" in output, output
    urls = [log.read_text().split() for log, _ in runs]
    assert len(urls[0]) == len(urls[1]) == 1 and urls[0] != urls[1]


@pytest.mark.azurite
def test_a_user_session_on_process_nodes_needs_no_docker(tmp_path):
    # A Docker endpoint that does not exist: the process runtime never asks.
    root = project(tmp_path, "process", USER_TESTS)
    env = clean_env(tmp_path, EMULATOR_LOG=str(tmp_path / "emulator.log"),
                    DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    done = user_pytest(root, "--topwords-node-runtime", "process", env=env, timeout=180)
    assert done.returncode == 0 and "3 passed" in done.stdout, done.stdout + done.stderr


@pytest.mark.node_runtimes("process")
def test_repo_conftest_fixtures_override_the_plugins(request, batch_emulator, azurite):
    # The plugin is loaded in this repo's own session too; tests/conftest.py's
    # batch_emulator (on the session Azurite, small pages) wins over it.
    assert request.config.pluginmanager.has_plugin("topwords")
    assert batch_emulator.storage_url == azurite.blob_url
    assert batch_emulator._page_size == EMULATOR_PAGE_SIZE
