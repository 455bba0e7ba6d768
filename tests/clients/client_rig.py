"""What the tests of other Batch clients share: a container to upload
into, a blob to download, and running a client's program against the
emulator with its settings in the environment.

The programs (tests/clients/msrest/scenario.py, tests/clients/node/scenario.js)
run in their own environments (virtualenvs with azure-batch 14.2.0 and 11.0.0,
node_modules with @azure/batch) that ``make client-envs`` builds; without
one the test skips on a developer machine and fails in CI.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from azure.storage.blob import (
    BlobSasPermissions, BlobServiceClient, ContainerSasPermissions, generate_blob_sas,
    generate_container_sas,
)

from conftest import service_unavailable
from spec_check import answers_report

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
HINT = ("run `make client-envs` (builds .venv-msrest, .venv-msrest11 and "
        "tests/clients/node/node_modules)")
TIMEOUT = 300


class Storage:
    """A container for output files and a readable input blob on the
    emulator's Azurite; removed by :meth:`close`."""

    def __init__(self, emulator) -> None:
        self.account, self.key = emulator.storage_account, emulator.storage_key
        self.service = BlobServiceClient(emulator.storage_url, credential={
            "account_name": self.account, "account_key": self.key})
        self.container = f"clients-{uuid.uuid4().hex[:10]}"
        self.service.create_container(self.container)
        self.base = f"{self.service.url.rstrip('/')}/{self.container}"

    def _expiry(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(hours=1)

    def read_url(self, name: str, data: bytes) -> str:
        self.service.get_blob_client(self.container, name).upload_blob(data)
        sas = generate_blob_sas(self.account, self.container, name, account_key=self.key,
                                permission=BlobSasPermissions(read=True), expiry=self._expiry())
        return f"{self.base}/{name}?{sas}"

    def write_url(self) -> str:
        sas = generate_container_sas(self.account, self.container, account_key=self.key,
                                     permission=ContainerSasPermissions(write=True, create=True),
                                     expiry=self._expiry())
        return f"{self.base}?{sas}"

    def names(self) -> list[str]:
        client = self.service.get_container_client(self.container)
        return sorted(b.name for b in client.list_blobs())

    def read(self, name: str) -> bytes:
        return self.service.get_blob_client(self.container, name).download_blob().readall()

    def close(self) -> None:
        self.service.delete_container(self.container)
        self.service.close()


def program_environment(emulator, storage: Storage, text: str) -> dict[str, str]:
    """What a client program reads: the Batch account, an output container
    SAS URL and an input blob SAS URL holding ``text``."""
    return {**os.environ, "BATCH_URL": emulator.batch_url,
            "BATCH_ACCOUNT": emulator.account_name, "BATCH_KEY": emulator.account_key,
            "OUTPUT_CONTAINER_URL": storage.write_url(),
            "RESOURCE_URL": storage.read_url("input.txt", text.encode()),
            "RESOURCE_WORDS": str(len(text.split())), "RUN_ID": uuid.uuid4().hex[:8]}


def run_program(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run a client program; its output, or a test failure with it."""
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{argv[-1]} exited {done.returncode}:\n{output}"
    return done.stdout


def require(path: Path, what: str) -> Path:
    """``path`` if it exists, else skip (developer machine) or fail (CI)."""
    if not path.exists():
        service_unavailable(f"{what} is not installed at {path}: {HINT}")
    return path


def run_checked(emulator, record: Path, argv: list[str], env: dict[str, str], cwd: Path, *,
                api_version: str, min_bodies: int) -> str:
    """:func:`run_program` with every answer the emulator gives it recorded
    in ``record`` and checked against the spec of ``api_version`` (the one
    the client sends): each JSON body against its operation's response
    schema, each answer's declared headers (see ``spec_check``). Fails with
    one ``operation path: problem`` line per problem, and if fewer than
    ``min_bodies`` bodies were checked (the check must not pass empty)."""
    from topwords.backends.local.emulator.recording import ResponseRecorder
    with emulator.recording(record):
        out = run_program(argv, env, cwd)
    answers = ResponseRecorder.read(record)
    versions = {a["apiVersion"] for a in answers}
    assert versions == {api_version}, f"the client sent api-versions {sorted(map(str, versions))}"
    checked, found = answers_report(answers)
    assert not found, (f"{len(found)} problem(s) in {len(answers)} answers at {api_version}:\n"
                       + "\n".join(sorted(set(found))))
    assert checked >= min_bodies, f"only {checked} JSON bodies checked"
    return out
