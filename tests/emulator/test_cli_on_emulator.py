"""End to end: ``topwords run --backend azure`` against the Batch emulator
gives what ``--backend local`` gives, and ``topwords emulator`` runs in the
foreground and leaves nothing behind when stopped."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from azure.batch import BatchClient, models as bm
from azure.core.credentials import AzureNamedKeyCredential

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

TUTORIAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tutorial"
ENV_NAMES = ("TOPWORDS_BATCH_URL", "TOPWORDS_BATCH_ACCOUNT", "TOPWORDS_BATCH_KEY",
             "TOPWORDS_STORAGE_URL", "TOPWORDS_STORAGE_ACCOUNT", "TOPWORDS_STORAGE_KEY")


@pytest.fixture
def tutorial_files():
    if not TUTORIAL.is_dir():
        pytest.skip(f"tutorial data not found at {TUTORIAL}")
    return sorted(TUTORIAL.glob("taskdata*.txt"))


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPWORDS_")}
    return {**env, "TOPWORDS_LEDGER": str(tmp_path / "ledger.jsonl"),
            "TOPWORDS_LOCAL_WORK_DIR": str(tmp_path / "nodes"), **extra}


def topwords(*args, env, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "topwords.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def normalised(text: str) -> str:
    """An output file without what differs between runs (ids, node names)."""
    text = re.sub(r"topwords-[\w-]+", "topwords-RUN", text)
    return re.sub(r"Node: \S+", "Node: NODE", text)


def test_azure_backend_on_the_emulator_writes_what_the_local_backend_writes(
        tmp_path, batch_emulator, azurite, tutorial_files):
    outputs = {}
    for backend, extra in (("azure", batch_emulator.environment()), ("local", {})):
        out = tmp_path / backend
        args = ["run", "--backend", backend, "--top", "3", "--output-dir", out, *tutorial_files]
        if backend == "local":
            args += ["--azurite-url", azurite.blob_url]
            extra = {"TOPWORDS_LOCAL_STORAGE_KEY": azurite.account_key}
        done = topwords(*args, env=clean_env(tmp_path, **extra))
        assert done.returncode == 0, done.stderr
        assert f"3 of 3 input(s) succeeded on the {backend} backend" in done.stdout
        outputs[backend] = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert sorted(outputs["azure"]) == ["GLOBAL_OUTPUT.txt", "taskdata1_OUTPUT.txt",
                                        "taskdata2_OUTPUT.txt", "taskdata3_OUTPUT.txt"]
    assert {k: normalised(v) for k, v in outputs["azure"].items()} == \
        {k: normalised(v) for k, v in outputs["local"].items()}
    assert "to:\t18\nand:\t17\nyou:\t14\n" in outputs["azure"]["taskdata1_OUTPUT.txt"]
    assert "and:\t27\nthe:\t25\nto:\t24\n" in outputs["azure"]["GLOBAL_OUTPUT.txt"]
    assert re.search(r"Node: node-\d+\n", outputs["azure"]["taskdata1_OUTPUT.txt"])
    deadline = time.monotonic() + 30  # the run deleted its pool; it goes in the background
    while batch_emulator.engine.pool_records():
        assert time.monotonic() < deadline, "the run's pool was not deleted"
        time.sleep(0.1)


def read_exports(proc: subprocess.Popen, timeout: float = 60) -> dict[str, str]:
    """The ``export NAME=value`` lines the emulator prints once it is ready."""
    exports, deadline = {}, time.monotonic() + timeout
    while len(exports) < len(ENV_NAMES):
        assert time.monotonic() < deadline, "the emulator printed no exports"
        line = proc.stdout.readline()
        assert line, f"the emulator exited: {proc.stderr.read()}"
        name, _, value = line.strip().removeprefix("export ").partition("=")
        exports[name] = value
    return exports


def port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((parts.hostname, parts.port)) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_emulator_command_serves_until_a_signal_then_leaves_nothing(tmp_path, docker_client,
                                                                      sig):
    env_file = tmp_path / "emulator.env"
    proc = subprocess.Popen([sys.executable, "-m", "topwords.cli", "emulator",
                             "--env-file", str(env_file)], env=clean_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        exports = read_exports(proc)
        assert sorted(exports) == sorted(ENV_NAMES)
        assert env_file.read_text() == "".join(f"export {k}={v}\n" for k, v in exports.items())
        assert env_file.stat().st_mode & 0o777 == 0o600
        client = BatchClient(exports["TOPWORDS_BATCH_URL"], AzureNamedKeyCredential(
            exports["TOPWORDS_BATCH_ACCOUNT"], exports["TOPWORDS_BATCH_KEY"]))
        image = list(client.list_supported_images())[0]
        client.create_pool(bm.BatchPoolCreateOptions(
            id="left-running", vm_size="standard_d2s_v3", target_dedicated_nodes=1,
            virtual_machine_configuration=bm.VirtualMachineConfiguration(
                image_reference=image.image_reference,
                node_agent_sku_id=image.node_agent_sku_id)))
        owner = {"label": f"topwords.owner={socket.gethostname()}:{proc.pid}"}
        deadline = time.monotonic() + 30
        # the low-level list: the high-level one inspects each container and
        # fails on one that is removed meanwhile
        while not docker_client.api.containers(all=True, filters=owner):
            assert time.monotonic() < deadline, "no node container started"
            time.sleep(0.1)
        client.close()
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 130), proc.stderr.read()
    assert docker_client.api.containers(all=True, filters=owner) == []
    assert not port_open(exports["TOPWORDS_BATCH_URL"])
    assert not port_open(exports["TOPWORDS_STORAGE_URL"])


def test_azure_backend_on_the_emulator_splits_and_reduces_like_local(
        tmp_path, batch_emulator, azurite, tutorial_files):
    outputs = {}
    for backend, extra in (("azure", batch_emulator.environment()), ("local", {})):
        out = tmp_path / backend
        args = ["run", "--backend", backend, "--top", "5", "--split-size", "700",
                "--output-dir", out, *tutorial_files]
        if backend == "local":
            args += ["--azurite-url", azurite.blob_url]
            extra = {"TOPWORDS_LOCAL_STORAGE_KEY": azurite.account_key}
        done = topwords(*args, env=clean_env(tmp_path, **extra))
        assert done.returncode == 0, done.stderr
        outputs[backend] = {p.name: normalised(p.read_text(encoding="utf-8"))
                            for p in out.iterdir()}
    assert outputs["azure"] == outputs["local"]
    assert len(outputs["azure"]) == 4
