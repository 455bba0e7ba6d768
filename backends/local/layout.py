"""Where a node's directories are, on the host and inside its container,
who owns them, and the ``AZ_BATCH_*`` environment a task sees.

Each node has one host directory, bind-mounted at ``/mnt/batch/tasks`` in its
container (as on a Batch Linux node)::

    shared/                               AZ_BATCH_NODE_SHARED_DIR
    startup/{wd/,stdout.txt,stderr.txt}    AZ_BATCH_NODE_STARTUP_DIR
    workitems/<job>/job-1/<task>/          AZ_BATCH_TASK_DIR
        wd/                               AZ_BATCH_TASK_WORKING_DIR
        stdout.txt, stderr.txt

Task code writes below these folders, so the host only ever reaches them
through ``nofollow`` with the components of :class:`TaskDirs` (``rel``),
never by joining paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from topwords.core import nofollow
from .users import BATCH_GID, NodeUser, switches_users

__all__ = ["NODE_ROOT", "NodeLayout", "TaskDirs"]

#: the node root inside every node container
NODE_ROOT = PurePosixPath("/mnt/batch/tasks")
ACCOUNT_NAME = "local"
#: the shared directory: every task reads and writes it; the sticky bit keeps
#: one user from removing or renaming another's files (the StartTask's copy
#: of a script, say); setgid keeps new files in the Batch group
SHARED_MODE = 0o3775


@dataclass(frozen=True)
class TaskDirs:
    """A task's (or the StartTask's) directory: its components below the
    node root (``rel``) and its path as the node sees it (below ``root``)."""

    rel: tuple[str, ...]
    root: PurePosixPath = NODE_ROOT

    @property
    def wd(self) -> tuple[str, ...]:
        return self.rel + ("wd",)

    @property
    def node(self) -> PurePosixPath:
        return self.root.joinpath(*self.rel)

    @property
    def node_wd(self) -> PurePosixPath:
        return self.node / "wd"

    def file(self, name: str) -> tuple[str, ...]:
        return self.rel + (name,)


@dataclass(frozen=True)
class NodeLayout:
    """The directory tree of one node.

    Attributes:
        host_root: the node's directory on the host.
        pool_id / node_id: whose tree this is.
        account_name: ``AZ_BATCH_ACCOUNT_NAME``.
        account_url: ``AZ_BATCH_ACCOUNT_URL`` (left out when empty).
        node_root: where the node sees its directory (None: at ``host_root``,
            a node that is a plain host process).
    """

    host_root: Path
    pool_id: str
    node_id: str
    account_name: str = ACCOUNT_NAME
    account_url: str = ""
    node_root: PurePosixPath | None = NODE_ROOT

    @property
    def root(self) -> PurePosixPath:
        """The node root as the node sees it."""
        return self.node_root or PurePosixPath(self.host_root)

    def create(self) -> None:
        """Make the node's tree (the node is not running yet)."""
        self.host_root.mkdir(parents=True, exist_ok=True)
        for sub in ("startup", "workitems"):
            nofollow.make_dirs(self.host_root, sub)
        group = (0, BATCH_GID) if switches_users() else None
        nofollow.make_dirs(self.host_root, "shared", mode=SHARED_MODE, owner=group)

    def prepare(self, dirs: TaskDirs, user: NodeUser) -> None:
        """A fresh, empty task directory owned by ``user`` (an old one of the
        same task, a retried StartTask's, is removed first): its ``wd`` and
        empty ``stdout.txt``/``stderr.txt``. Parents belong to the node."""
        nofollow.remove_tree(self.host_root, dirs.rel)
        nofollow.make_dirs(self.host_root, dirs.rel[:-1])
        nofollow.make_dirs(self.host_root, dirs.wd, mode=0o700, owner=user.owner)
        for name in ("stdout.txt", "stderr.txt"):
            nofollow.replace_file(self.host_root, dirs.file(name), (), mode=0o644)

    def startup(self) -> TaskDirs:
        return TaskDirs(("startup",), self.root)

    def task(self, job_id: str, task_id: str) -> TaskDirs:
        return TaskDirs(("workitems", job_id, "job-1", task_id), self.root)

    def job_dir(self, job_id: str) -> tuple[str, ...]:
        return ("workitems", job_id)

    def base_env(self) -> dict[str, str]:
        """What every process on the node sees."""
        env = {
            "AZ_BATCH_ACCOUNT_NAME": self.account_name,
            "AZ_BATCH_POOL_ID": self.pool_id,
            "AZ_BATCH_NODE_ID": self.node_id,
            "AZ_BATCH_NODE_IS_DEDICATED": "true",
            "AZ_BATCH_NODE_ROOT_DIR": str(self.root),
            "AZ_BATCH_NODE_SHARED_DIR": str(self.root / "shared"),
            "AZ_BATCH_NODE_STARTUP_DIR": str(self.root / "startup"),
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
