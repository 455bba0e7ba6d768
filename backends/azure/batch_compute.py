"""Azure Batch behind the :class:`~topwords.core.compute.Compute` interface
(azure-batch 15, ``azure.batch.BatchClient``).

Differences from the interface worth knowing:

* The node image is chosen at run time from the account's supported images
  (the newest verified Ubuntu LTS unless the spec names one); the list is
  fetched once per instance.
* ``create_job`` checks that the pool exists first: Batch itself accepts a
  job for a missing pool and just never runs its tasks.
* ``delete_pool``/``delete_job`` return once Batch has accepted the delete.
  The SDK's poller keeps checking in a daemon thread until the pool or job
  is gone; nothing waits for it.
* ``add_tasks`` submits chunks of at most 100 tasks in order, halves a
  chunk Batch finds too large, resubmits tasks that failed with a server
  error (a few times), and raises ``ResourceExists`` for ``TaskExists``.
  (The SDK's ``create_tasks`` treats TaskExists as success and retries
  server errors without limit, so it is not used.)
* ``task_counts`` uses Batch's cheap task counts while tasks are pending,
  and lists the tasks to confirm when the counts say all have completed
  (the counts lag behind, e.g. all zero right after ``add_tasks``).
* Every SDK exception is translated in :func:`.batch_errors.translate`.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any, Sequence

from azure.batch import BatchClient, models as bm
from azure.core.exceptions import AzureError, HttpResponseError

from topwords.core.compute import Compute
from topwords.core.errors import (ComputeError, ConfigError, JobNotFound, PoolError, PoolNotFound,
                                  ResourceExists, TaskNotFound)
from topwords.core.model import (JobSpec, NodeInfo, PoolInfo, PoolSpec, TaskCounts,
                                 TaskInfo, TaskSpec)

from .batch_errors import already_gone, error_code, refused_tasks_error, translate
from .batch_models import (choose_image, job_options, node_info, pool_info, pool_options,
                           task_info, task_options)

__all__ = ["BatchCompute", "connect"]

#: Batch takes at most 100 tasks per addtaskcollection request.
MAX_TASKS_PER_REQUEST = 100
#: Rounds of resubmitting tasks that failed with a server error.
SERVER_ERROR_RETRIES = 3
#: Characters of a failed StartTask's stderr kept in ``NodeInfo``.
STDERR_TAIL = 4000
#: Seconds between the SDK poller's checks after a delete (in its own thread).
_DELETE_POLL_INTERVAL = 30


def connect(endpoint: str, credential: Any, *, default_vm_size: str | None = None,
            **client_kwargs: Any) -> "BatchCompute":
    """A :class:`BatchCompute` on a new ``BatchClient``.

    Args:
        endpoint: ``https://<account>.<region>.batch.azure.com`` (or an
            emulator's http URL, with a shared key).
        credential: ``AzureNamedKeyCredential`` or a ``TokenCredential``.
        client_kwargs: passed to ``BatchClient`` (``transport=``,
            ``retry_total=``, ``connection_timeout=``, ...).
    """
    client = BatchClient(endpoint, credential, **client_kwargs)
    return BatchCompute(client, default_vm_size=default_vm_size)


class BatchCompute(Compute):
    """Pools, jobs and tasks on an Azure Batch account.

    Args:
        client: the ``BatchClient`` to use (closed by :meth:`close`).
        default_vm_size: when given, used instead of ``PoolSpec.vm_size``.
    """

    name = "azure"
    poll_interval = 2.0
    max_poll_interval = 15.0
    supports_task_dependencies = True
    supports_output_files = True

    def __init__(self, client: BatchClient, *, default_vm_size: str | None = None) -> None:
        self._client = client
        self.default_vm_size = default_vm_size
        self._images: list[bm.BatchSupportedImage] | None = None

    # -- pools ------------------------------------------------------------

    def validate_pool(self, spec: PoolSpec) -> None:
        """Raises ConfigError if the account supports no such image (the
        supported images are fetched once; a failure to fetch them is left
        to ``create_pool`` to report)."""
        try:
            with translate("listing the supported images", failure=PoolError):
                images = self._supported_images()
        except PoolError:
            return
        try:
            choose_image(images, spec.image)
        except PoolError as exc:
            raise ConfigError(str(exc), hint=exc.hint) from None

    def create_pool(self, spec: PoolSpec) -> None:
        with translate(f"creating pool {spec.id}", failure=PoolError):
            vm_config = choose_image(self._supported_images(), spec.image)
            options = pool_options(spec, vm_size=self.default_vm_size or spec.vm_size,
                                   vm_config=vm_config)
            self._client.create_pool(options)

    def _supported_images(self) -> list[bm.BatchSupportedImage]:
        """Every image the account supports (verified or not), fetched once."""
        if self._images is None:
            self._images = list(self._client.list_supported_images())
        return self._images

    def get_pool(self, pool_id: str) -> PoolInfo:
        with translate(f"reading pool {pool_id}", missing=PoolNotFound):
            return pool_info(self._client.get_pool(pool_id))

    def list_nodes(self, pool_id: str) -> list[NodeInfo]:
        with translate(f"listing the nodes of pool {pool_id}", missing=PoolNotFound):
            nodes = list(self._client.list_nodes(pool_id))
        return [node_info(n, start_task_stderr=self._start_task_stderr(pool_id, n))
                for n in nodes]

    def _start_task_stderr(self, pool_id: str, node: bm.BatchNode) -> str:
        """The tail of a failed StartTask's stderr; "" if it cannot be read."""
        if node.state != bm.BatchNodeState.START_TASK_FAILED:
            return ""
        try:
            data = b"".join(self._client.download_node_file(pool_id, node.id,
                                                            "startup/stderr.txt"))
        except AzureError:
            return ""
        return data.decode("utf-8", errors="replace")[-STDERR_TAIL:]

    def delete_pool(self, pool_id: str) -> None:
        with translate(f"deleting pool {pool_id}", failure=PoolError):
            try:
                self._client.begin_delete_pool(pool_id, polling_interval=_DELETE_POLL_INTERVAL)
            except HttpResponseError as exc:
                if not already_gone(exc):
                    raise

    # -- jobs and tasks ---------------------------------------------------

    def create_job(self, spec: JobSpec) -> None:
        with translate(f"creating job {spec.id} on pool {spec.pool_id}", missing=PoolNotFound):
            self._client.get_pool(spec.pool_id, select=["id"])
            self._client.create_job(job_options(spec))

    def set_terminate_when_tasks_complete(self, job_id: str, value: bool = True) -> None:
        action = "terminatejob" if value else "noaction"
        with translate(f"updating job {job_id}", missing=JobNotFound):
            self._client.update_job(job_id, bm.BatchJobUpdateOptions(all_tasks_complete_mode=action))

    def delete_job(self, job_id: str) -> None:
        with translate(f"deleting job {job_id}"):
            try:
                self._client.begin_delete_job(job_id, polling_interval=_DELETE_POLL_INTERVAL)
            except HttpResponseError as exc:
                if not already_gone(exc):
                    raise

    def add_tasks(self, job_id: str, tasks: Sequence[TaskSpec]) -> None:
        twice = sorted(i for i, n in Counter(t.id for t in tasks).items() if n > 1)
        if twice:
            raise ResourceExists(f"task id {twice[0]} is given more than once for job {job_id}")
        options = [task_options(t) for t in tasks]
        pending = deque(options[i:i + MAX_TASKS_PER_REQUEST]
                        for i in range(0, len(options), MAX_TASKS_PER_REQUEST))
        rounds = 0
        with translate(f"adding tasks to job {job_id}", missing=JobNotFound):
            while pending:
                chunk = pending.popleft()
                retry = self._add_chunk(job_id, chunk, pending)
                if retry:
                    rounds += 1
                    if rounds > SERVER_ERROR_RETRIES:
                        raise ComputeError(
                            f"adding tasks to job {job_id} failed: Batch kept answering "
                            f"server errors for {len(retry)} task(s), e.g. {retry[0].id}",
                            hint="retry later; tasks already added stay in the job")
                    time.sleep(rounds)
                    pending.appendleft(retry)

    def _add_chunk(self, job_id: str, chunk: list[bm.BatchTaskCreateOptions],
                   pending: deque) -> list[bm.BatchTaskCreateOptions]:
        """Submit one chunk (halves go back to ``pending`` if it is too large).

        Returns:
            The tasks that failed with a server error, to resubmit.
        Raises:
            ResourceExists, ConfigError: Batch refused a task. (If azure-core
                resent a request whose first attempt was applied but answered
                500/503/504, our own tasks come back as TaskExists: rare, and
                reported rather than hidden.)
        """
        try:
            result = self._client.create_task_collection(
                job_id, bm.BatchTaskGroup(task_values=chunk))
        except HttpResponseError as exc:
            if error_code(exc) != "RequestBodyTooLarge" or len(chunk) == 1:
                raise
            half = len(chunk) // 2
            pending.extendleft([chunk[half:], chunk[:half]])
            return []
        failed = [r for r in result.result_values or ()
                  if r.status != bm.BatchTaskAddStatus.SUCCESS]
        refused = [r for r in failed if r.status == bm.BatchTaskAddStatus.CLIENT_ERROR]
        if refused:
            raise refused_tasks_error(job_id, refused)
        again = {r.task_id for r in failed}
        return [t for t in chunk if t.id in again]

    def list_tasks(self, job_id: str) -> list[TaskInfo]:
        with translate(f"listing the tasks of job {job_id}", missing=JobNotFound):
            return [task_info(t) for t in self._client.list_tasks(job_id)]

    def task_counts(self, job_id: str) -> TaskCounts:
        """Batch's task counts may lag behind the tasks (all zero right after
        they are added), so "every task completed" is confirmed by a listing."""
        with translate(f"counting the tasks of job {job_id}", missing=JobNotFound):
            counts = self._client.get_job_task_counts(job_id).task_counts
        if counts.active == counts.running == 0:
            return TaskCounts.of(self.list_tasks(job_id))
        return TaskCounts(active=counts.active, running=counts.running,
                          completed=counts.completed, succeeded=counts.succeeded,
                          failed=counts.failed)

    def read_task_file(self, job_id: str, task_id: str, path: str) -> bytes:
        with translate(f"reading {path} of task {task_id} in job {job_id}",
                       missing=TaskNotFound):
            return b"".join(self._client.download_task_file(job_id, task_id, path))

    def close(self) -> None:
        with translate("closing the Batch client"):
            self._client.close()
