"""In-process fakes of Storage and Compute for fast unit tests of core.

They keep the interfaces' contracts (idempotent deletes, not-found and
already-exists errors) and record what was asked of them, so tests can
check the workflow's calls and its cleanup without Docker or Azurite. Both
run the contract suites (tests/rigs.py, target ``fake``) for what they
claim: no live SAS URLs, no nodes (tasks complete at once, unrun).
"""

from __future__ import annotations

import json
import shlex
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from topwords.core.backend import Backend
from topwords.core.compute import Compute
from topwords.core.errors import (
    BlobNotFound, JobNotFound, PoolNotFound, ResourceExists, TaskNotFound,
)
from topwords.core.model import (
    NodeInfo, NodeState, PoolInfo, TaskInfo, TaskResult, TaskSpec, TaskState,
)
from topwords.core.storage import Storage


class FakeStorage(Storage):
    name = "fake"

    def __init__(self) -> None:
        self.containers: dict[str, dict[str, bytes]] = {}
        self.calls: list[tuple] = []

    def _container(self, container: str) -> dict[str, bytes]:
        try:
            return self.containers[container]
        except KeyError:
            raise BlobNotFound(f"container {container} does not exist") from None

    def create_container(self, container, metadata=None):
        self.calls.append(("create_container", container, dict(metadata or {})))
        self.containers.setdefault(container, {})

    def delete_container(self, container):
        self.calls.append(("delete_container", container))
        self.containers.pop(container, None)

    def upload_file(self, container, blob_name, path):
        self._container(container)[blob_name] = Path(path).read_bytes()

    def download_file(self, container, blob_name, path):
        data = self._container(container).get(blob_name)
        if data is None:
            raise BlobNotFound(f"blob {blob_name} does not exist")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)

    def list_blobs(self, container, prefix=""):
        return sorted(n for n in self._container(container) if n.startswith(prefix))

    def blob_read_url(self, container, blob_name, expiry=None):
        return f"https://fake.blob/{container}/{urllib.parse.quote(blob_name)}?sp=r&sig=READSECRET"

    def blob_write_url(self, container, blob_name, expiry=None):
        return f"https://fake.blob/{container}/{urllib.parse.quote(blob_name)}?sp=cw&sig=WRITESECRET"

    def container_write_url(self, container, expiry=None):
        return f"https://fake.blob/{container}?sp=cw&sig=WRITESECRET"


Outcome = Callable[[TaskSpec], tuple[int, bytes | None]]


class FakeCompute(Compute):
    """Tasks complete at once with ``outcome(spec) -> (exit code, result)``;
    a result is written to the output container as the node task would."""

    name = "fake"
    poll_interval = 0.001
    max_poll_interval = 0.001

    def __init__(self, storage: FakeStorage, outcome: Outcome) -> None:
        self.storage, self.outcome = storage, outcome
        self.pools: dict[str, object] = {}
        self.jobs: dict[str, dict[str, TaskInfo]] = {}
        self.specs: dict[str, TaskSpec] = {}
        self.calls: list[tuple] = []
        self.wait_hook: Callable[[], None] | None = None
        self.node_state = NodeState.IDLE

    def create_pool(self, spec):
        if spec.id in self.pools:
            raise ResourceExists(spec.id)
        self.calls.append(("create_pool", spec.id))
        self.pools[spec.id] = spec

    def get_pool(self, pool_id):
        if pool_id not in self.pools:
            raise PoolNotFound(pool_id)
        return PoolInfo(spec=self.pools[pool_id], current_node_count=1)

    def list_nodes(self, pool_id):
        if pool_id not in self.pools:
            raise PoolNotFound(pool_id)
        return [NodeInfo(id="n0", state=self.node_state, start_task_exit_code=1,
                         start_task_stderr="cp: cannot stat 'task.py'")]

    def delete_pool(self, pool_id):
        self.calls.append(("delete_pool", pool_id))
        self.pools.pop(pool_id, None)

    def create_job(self, spec):
        if spec.pool_id not in self.pools:
            raise PoolNotFound(spec.pool_id)
        if spec.id in self.jobs:
            raise ResourceExists(spec.id)
        self.calls.append(("create_job", spec.id))
        self.jobs[spec.id] = {}

    def delete_job(self, job_id):
        self.calls.append(("delete_job", job_id))
        self.jobs.pop(job_id, None)

    def add_tasks(self, job_id, tasks):
        if job_id not in self.jobs:
            raise JobNotFound(job_id)
        taken = [spec.id for spec in tasks if spec.id in self.jobs[job_id]]
        if taken:
            raise ResourceExists(f"task {taken[0]} already exists in job {job_id}")
        for spec in tasks:
            self.specs[spec.id] = spec
            done = self.jobs[job_id]
            if self.node_state is not NodeState.IDLE or any(
                    not done[d].succeeded for d in spec.depends_on if d in done):
                self.jobs[job_id][spec.id] = TaskInfo(id=spec.id, state=TaskState.ACTIVE,
                                                      depends_on=spec.depends_on)
                continue
            code, result = self.outcome(spec)
            if result is not None:
                for container, blob in self._results_of(spec):
                    self.storage.containers[container][blob] = result
            now = datetime.now(timezone.utc)
            self.jobs[job_id][spec.id] = TaskInfo(
                id=spec.id, state=TaskState.COMPLETED, exit_code=code,
                result=TaskResult.SUCCESS if code == 0 else TaskResult.FAILURE,
                start_time=now, end_time=now, node_id="n0")

    def list_tasks(self, job_id):
        if self.wait_hook:
            self.wait_hook()
        if job_id not in self.jobs:
            raise JobNotFound(job_id)
        return list(self.jobs[job_id].values())

    def read_task_file(self, job_id, task_id, path):
        if task_id not in self.jobs.get(job_id, {}):
            raise TaskNotFound(f"task {task_id} of job {job_id} does not exist")
        return b"Traceback (most recent call last):\nValueError: boom\n"

    def _results_of(self, spec: TaskSpec) -> list[tuple[str, str]]:
        """Where the node task would upload its results: the blob of its
        output URL, or (the reduce) every output of its manifest."""
        url = spec.environment.get("TOPWORDS_OUTPUT_URL")
        if url:
            return [_blob_of(url)]
        manifests = [r for r in spec.resource_files if r.file_path == "manifest.json"]
        if not manifests:
            return []  # a part of a file: only counts
        container, blob = _blob_of(manifests[0].http_url)
        manifest = json.loads(self.storage.containers[container][blob])
        return [_blob_of(o["url"]) for o in manifest["outputs"]]


def _blob_of(url: str) -> tuple[str, str]:
    """(container, blob name) of a fake blob URL."""
    container, _, blob = urllib.parse.unquote(urllib.parse.urlsplit(url).path[1:]).partition("/")
    return container, blob


def task_args(spec: TaskSpec) -> list[str]:
    """The node task's arguments in a ``/bin/bash -c 'python3 ... task.py ARGS'``."""
    return shlex.split(shlex.split(spec.command_line)[2])[2:]


def report(rows: list[tuple[str, int]]) -> bytes:
    lines = ["Word\tCount", "-" * 30, *[f"{w}:\t{c}" for w, c in rows], "-" * 30,
             "Node: n0", "Task: t", "Job:  j", "Pool: p"]
    return ("\n".join(lines) + "\n").encode()


def fake_backend(outcome: Outcome) -> Backend:
    storage = FakeStorage()
    return Backend(name="fake", storage=storage, compute=FakeCompute(storage, outcome))
