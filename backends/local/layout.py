"""Where a node's directories are, on the host and inside its container,
and the ``AZ_BATCH_*`` environment a task sees.

Each node has one host directory, bind-mounted at ``/mnt/batch/tasks`` in its
container (as on a Batch Linux node)::

    shared/                               AZ_BATCH_NODE_SHARED_DIR
    startup/{wd/,stdout.txt,stderr.txt}    AZ_BATCH_NODE_STARTUP_DIR
    workitems/<job>/job-1/<task>/          AZ_BATCH_TASK_DIR
        wd/                               AZ_BATCH_TASK_WORKING_DIR
        stdout.txt, stderr.txt
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["NODE_ROOT", "NodeLayout", "TaskDirs"]

#: the node root inside every node container
NODE_ROOT = PurePosixPath("/mnt/batch/tasks")
ACCOUNT_NAME = "local"


@dataclass(frozen=True)
class TaskDirs:
    """A task's (or the StartTask's) directory, seen from both sides."""

    host: Path
    node: PurePosixPath

    @property
    def host_wd(self) -> Path:
        return self.host / "wd"

    @property
    def node_wd(self) -> PurePosixPath:
        return self.node / "wd"


@dataclass(frozen=True)
class NodeLayout:
    """The directory tree of one node.

    Attributes:
        host_root: the node's directory on the host.
        pool_id / node_id: whose tree this is.
        account_name: ``AZ_BATCH_ACCOUNT_NAME``.
        account_url: ``AZ_BATCH_ACCOUNT_URL`` (left out when empty).
    """

    host_root: Path
    pool_id: str
    node_id: str
    account_name: str = ACCOUNT_NAME
    account_url: str = ""

    def create(self) -> None:
        for sub in ("shared", "startup/wd", "workitems"):
            (self.host_root / sub).mkdir(parents=True, exist_ok=True)

    def startup(self) -> TaskDirs:
        return TaskDirs(self.host_root / "startup", NODE_ROOT / "startup")

    def task(self, job_id: str, task_id: str) -> TaskDirs:
        rel = PurePosixPath("workitems", job_id, "job-1", task_id)
        return TaskDirs(self.host_root.joinpath(*rel.parts), NODE_ROOT / rel)

    def job_dir(self, job_id: str) -> Path:
        return self.host_root / "workitems" / job_id

    def base_env(self) -> dict[str, str]:
        """What every process on the node sees."""
        env = {
            "AZ_BATCH_ACCOUNT_NAME": self.account_name,
            "AZ_BATCH_POOL_ID": self.pool_id,
            "AZ_BATCH_NODE_ID": self.node_id,
            "AZ_BATCH_NODE_IS_DEDICATED": "true",
            "AZ_BATCH_NODE_ROOT_DIR": str(NODE_ROOT),
            "AZ_BATCH_NODE_SHARED_DIR": str(NODE_ROOT / "shared"),
            "AZ_BATCH_NODE_STARTUP_DIR": str(NODE_ROOT / "startup"),
        }
        if self.account_url:
            env["AZ_BATCH_ACCOUNT_URL"] = self.account_url
        return env

    def start_task_env(self) -> dict[str, str]:
        dirs = self.startup()
        return {**self.base_env(), "AZ_BATCH_TASK_DIR": str(dirs.node),
                "AZ_BATCH_TASK_WORKING_DIR": str(dirs.node_wd)}

    def task_env(self, job_id: str, task_id: str, retry_count: int) -> dict[str, str]:
        dirs = self.task(job_id, task_id)
        return {**self.base_env(), "AZ_BATCH_JOB_ID": job_id, "AZ_BATCH_TASK_ID": task_id,
                "AZ_BATCH_TASK_DIR": str(dirs.node),
                "AZ_BATCH_TASK_WORKING_DIR": str(dirs.node_wd),
                "AZ_BATCH_TASK_RETRY_COUNT": str(retry_count)}
