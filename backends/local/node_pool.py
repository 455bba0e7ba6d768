"""A pool of nodes (containers or processes, as its runtime makes them):
allocation, StartTask, node states, lost nodes, deletion.

Nodes boot in parallel in background threads, as Batch allocates a pool
asynchronously: each node's container starts (``starting``), its StartTask
runs (``waitingforstarttask``), then it is ``idle``, or ``starttaskfailed``
when a StartTask with ``wait_for_success`` exits non-zero, or ``unusable``
when Docker failed. The engine is told whenever a node becomes usable.
"""

from __future__ import annotations

import os
import shlex
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from topwords.core.errors import NodeError
from topwords.core.model import FailureInfo, NodeInfo, NodeState, PoolSpec

from topwords.core import nofollow
from . import users
from .runtime import NodeRuntime
from .layout import NodeLayout
from .labels import NODE_LABEL, OWNER_LABEL, POOL_LABEL
from .leftovers import KEPT, OWNER_FILE, claim_dir, owner_label
from .container_run import (
    IMAGE_NOT_FOUND, ContainerPoolNeeded, ImageMissing, container_kwargs, image_missing_message,
)
from .records import NodeErrorRecord, NodeRecord, StartTaskRun, Tracked, utc_now
from .transfer import TransferError, download_resource_file

__all__ = ["Node", "NodePool"]

_STDERR_TAIL = 4000


@dataclass(eq=False)
class Node:
    """A node's mutable state (guarded by the engine's lock)."""

    id: str
    handle: object  # what the runtime made: a DockerNode or a ProcessNode
    layout: NodeLayout
    state: NodeState = NodeState.CREATING
    free_slots: int = 1
    start_task_exit_code: int | None = None
    start_task_stderr: str = ""
    running: set = field(default_factory=set)
    allocated: datetime = field(default_factory=utc_now)
    start_task_run: StartTaskRun | None = None
    tasks_run: int = 0
    tasks_succeeded: int = 0
    serials: object = field(default_factory=users.serials)
    last_seen: float = field(default_factory=time.monotonic)  # its last heartbeat
    lost_reason: str = ""
    generation: int = 0  # times it was restarted
    dedicated: bool = True
    switch_users: bool = True  # its runtime runs commands as auto-users
    runs_containers: bool = False  # its pool has a container configuration
    errors: list = field(default_factory=list)  # NodeErrorRecord: why it is unusable
    booting: bool = False  # its boot thread has not ended
    evicted: bool = False  # a resize removes it now: its commands' ends are its own
    state_changed: datetime = field(default_factory=utc_now)  # when ``state`` last changed

    def __setattr__(self, name: str, value) -> None:
        if name == "state" and getattr(self, "state", value) is not value:
            object.__setattr__(self, "state_changed", utc_now())
        object.__setattr__(self, name, value)

    def user_for(self, spec) -> users.NodeUser:
        """The auto-user a task (or StartTask) of ``spec`` runs as."""
        return users.auto_user(elevated=spec.run_elevated, scope=spec.user_scope,
                               serials=self.serials, switch=self.switch_users)

    @property
    def usable(self) -> bool:
        return self.state in (NodeState.IDLE, NodeState.RUNNING)

    def info(self) -> NodeInfo:
        return NodeInfo(id=self.id, state=self.state,
                        start_task_exit_code=self.start_task_exit_code,
                        start_task_stderr=self.start_task_stderr,
                        errors=tuple(str(e) for e in self.errors))

    def record(self) -> NodeRecord:
        return NodeRecord(info=self.info(), allocated=self.allocated,
                          running_tasks=len(self.running), tasks_run=self.tasks_run,
                          tasks_succeeded=self.tasks_succeeded, start_task=self.start_task_run,
                          dedicated=self.dedicated, errors=tuple(self.errors),
                          state_changed=self.state_changed)


class NodePool(Tracked):
    """The nodes of one pool, each with its own directories; ``modified``
    follows the pool's own data (spec, extras, resize and deleting state),
    not its nodes' (see ``records.Tracked``).

    Args:
        runtime: makes the nodes (see ``runtime``).
        spec: the pool.
        image: the node image to use.
        host_dir: this pool's directory on the host (one subfolder per node).
        lock: the engine's lock; node state changes happen under it.
        on_change: called (under the lock) when a node's state changes.
        account: ``account_name``/``account_url`` for the nodes' environment.
        extras: Batch properties kept with the pool as given.
    """

    TRACKED = frozenset({"spec", "extras", "deleting", "stopping", "autoscale"})

    def __init__(self, runtime: NodeRuntime, spec: PoolSpec, *, image: str, host_dir: Path,
                 lock: threading.Condition, on_change: Callable[[], None],
                 account: dict[str, str] | None = None,
                 extras: Mapping[str, Any] | None = None) -> None:
        self.spec, self.host_dir = spec, host_dir
        self.extras: Mapping[str, Any] = dict(extras or {})
        self._runtime, self._image = runtime, image
        self._lock, self._on_change = lock, on_change
        self._account = account or {}
        self.created = self.modified
        count = spec.node_count + spec.spot_node_count
        self._numbers = iter(range(1 << 62))  # node ids are never reused
        self.nodes = [self._new_node(next(self._numbers)) for _ in range(count)]
        for node in self.nodes[spec.node_count:]:
            node.dedicated = False
        self.autoscale = None  # its AutoScaleState (see autoscaler); None: off
        self.deleting = False
        self.stopping = False  # a resize was stopped (see pool_resize)
        self.deletion = None  # the engine's delete, once begun
        self._threads: list[threading.Thread] = []

    def _new_node(self, n: int) -> Node:
        node_id = f"node-{n}"
        layout = NodeLayout(self.host_dir / node_id, self.spec.id, node_id, **self._account,
                            node_root=self._runtime.node_root)
        return Node(id=node_id, handle=self._handle(node_id, layout), layout=layout,
                    free_slots=self.spec.task_slots_per_node,
                    switch_users=self._runtime.switches_users,
                    runs_containers=self.spec.container_configuration is not None
                    and self._runtime.runs_containers)

    def _handle(self, node_id: str, layout: NodeLayout, generation: int = 0):
        """A node's container or process; a restarted node's gets a new name
        (the old container may take a moment to go)."""
        suffix = f"-r{generation}" if generation else ""
        return self._runtime.node(
            name=f"topwords-{self.spec.id}-{node_id}{suffix}", image=self._image,
            host_root=layout.host_root, agent_dir=self.host_dir / f".{node_id}.agent",
            labels={POOL_LABEL: self.spec.id, NODE_LABEL: node_id,
                    OWNER_LABEL: owner_label()})

    def allocate(self) -> None:
        """Boot every node in the background; returns at once."""
        claim_dir(self.host_dir)
        for node in self.nodes:
            self._start_boot(node)

    def _start_boot(self, node: Node) -> None:
        node.booting = True
        self._in_background(self._boot, node, "boot")

    # -- what pool_resize uses (under the lock unless said) ------------------------

    @property
    def lock(self) -> threading.Condition:
        return self._lock

    def set_targets(self, dedicated: int, spot: int) -> None:
        """New target node counts (the spec's ``node_count``/``spot_node_count``)."""
        self.spec = replace(self.spec, node_count=dedicated, spot_node_count=spot)

    def add_node(self, *, dedicated: bool) -> Node:
        """A new node, booting in the background."""
        node = self._new_node(next(self._numbers))
        node.dedicated = dedicated
        self.nodes.append(node)
        self._start_boot(node)
        return node

    def remove_node_handle(self, node: Node) -> None:
        """(Without the lock.) Remove a node's container or process."""
        _remove_quietly(node.handle)

    def agent_dir(self, node: Node) -> Path:
        return self.host_dir / f".{node.id}.agent"

    def notify_change(self) -> None:
        self._on_change()
        self._lock.notify_all()

    def in_background(self, fn, node: Node, what: str) -> None:
        self._in_background(fn, node, what)

    def _in_background(self, fn, node: Node, what: str) -> None:
        thread = threading.Thread(target=fn, args=(node,), daemon=True,
                                  name=f"{what}-{self.spec.id}-{node.id}")
        self._threads.append(thread)
        thread.start()

    def replace(self, lost: Node) -> Node | None:
        """A lost node (already ``unusable``) stays listed as such and never
        runs a task again; its container goes (its running commands end, and
        their runners requeue their tasks), and a new node takes its place in
        the pool, booting in the background. Called under the lock.

        Returns:
            The new node (None if the pool is being deleted).
        """
        self._in_background(lambda node: _remove_quietly(node.handle), lost, "remove-lost")
        if self.deleting:
            return None
        return self.add_node(dedicated=lost.dedicated)

    def restart(self, node: Node, *, wait_for_tasks: bool = False, wipe: bool = False) -> None:
        """Give a node a fresh container and boot it again, StartTask
        included (a reboot: its id and directory stay; with ``wipe``, a
        reimage, its directory starts empty). Its running commands end (after
        they finish, with ``wait_for_tasks``); their runners requeue or end
        their tasks (see ``evicted``). Returns at once."""
        def again(node: Node) -> None:
            with self._lock:
                self._lock.wait_for(lambda: not wait_for_tasks or not node.running
                                    or self.deleting)
                node.evicted = True  # the ends of its commands are the restart's
            _remove_quietly(node.handle)
            with self._lock:
                self._lock.wait_for(lambda: not node.running, timeout=60)
                node.evicted = False
                if self.deleting:
                    return
            if wipe:
                shutil.rmtree(node.layout.host_root, ignore_errors=True)  # never follows links
                shutil.rmtree(self.agent_dir(node), ignore_errors=True)
            with self._lock:
                node.generation += 1
                node.handle = self._handle(node.id, node.layout, node.generation)
                node.free_slots, node.start_task_exit_code = self.spec.task_slots_per_node, None
                node.errors = []  # a reboot fetches the images again
                node.state, node.booting = NodeState.CREATING, True
            self._boot(node)
        self._in_background(again, node, "restart")

    def keep(self) -> None:
        """The pool outlives this process on purpose (``--keep-pool``): its
        nodes stop watching the owner's lifeline, and sweeps after it leave
        it alone (``topwords local cleanup`` still removes it)."""
        if not self.host_dir.is_dir():
            return
        (self.host_dir / OWNER_FILE).write_text(KEPT, encoding="utf-8")
        for node in self.nodes:
            node.handle.detach()

    def _set(self, node: Node, state: NodeState) -> None:
        with self._lock:
            if not self.deleting and node.state is not NodeState.LEAVING_POOL:
                node.state = state
            self._on_change()

    def _boot(self, node: Node) -> None:
        try:
            self._boot_node(node)
        finally:
            with self._lock:
                node.booting = False
                self._lock.notify_all()

    def _boot_node(self, node: Node) -> None:
        try:
            node.layout.create()
            self._set(node, NodeState.STARTING)
            node.handle.start()
            if self.deleting or node.state is NodeState.LEAVING_POOL:
                node.handle.remove()  # deleted, or resized away, while it started
                return
            if not self._prefetch(node):
                return
            start = self.spec.start_task
            if start is not None:
                self._set(node, NodeState.WAITING_FOR_START_TASK)
                ok = self._run_start_task(node)
                if not ok and start.wait_for_success:
                    self._set(node, NodeState.START_TASK_FAILED)
                    return
            with self._lock:
                node.last_seen = time.monotonic()
            self._set(node, NodeState.IDLE)
        except (NodeError, OSError) as exc:
            with self._lock:
                node.start_task_stderr = str(exc)
            self._set(node, NodeState.UNUSABLE)

    def _prefetch(self, node: Node) -> bool:
        """Batch pulls a container pool's ``containerImageNames`` before a
        node takes tasks; here each must be one Docker has (nothing is
        pulled). A node missing one is ``unusable``, its error naming it."""
        config = self.spec.container_configuration
        missing = [image for image in (config.image_names if config else ())
                   if not self._runtime.image_available(image)]
        if not missing:
            return True
        with self._lock:
            node.errors = [NodeErrorRecord(code=IMAGE_NOT_FOUND,
                                           message=image_missing_message(image),
                                           details=(("ImageName", image),))
                           for image in missing]
            node.start_task_stderr = str(node.errors[0])
        self._set(node, NodeState.UNUSABLE)
        return False

    def _run_start_task(self, node: Node) -> bool:
        start, layout = self.spec.start_task, node.layout
        dirs, user = layout.startup(), node.user_for(start)
        with self._lock:
            node.start_task_run = StartTaskRun(state="running", start_time=utc_now())
        try:
            layout.prepare(dirs, user)
            for resource in start.resource_files:
                download_resource_file(resource, layout.host_root, dirs.wd, owner=user.owner)
        except (TransferError, OSError) as exc:
            with self._lock:
                node.start_task_stderr = str(exc)
                node.start_task_run = replace(
                    node.start_task_run, state="completed", end_time=utc_now(),
                    failure=FailureInfo(category="usererror", code="ResourceFileDownloadError",
                                        message=str(exc)))
            return False
        env = {**layout.start_task_env(), **start.environment}
        try:
            for attempt in range(start.max_task_retry_count + 1):
                outcome = self._start_task_attempt(node, dirs, user, env)
                if outcome.exit_code == 0:
                    break
        except (ImageMissing, ContainerPoolNeeded) as exc:  # its container cannot run
            with self._lock:
                node.start_task_stderr = str(exc)
                node.start_task_run = replace(
                    node.start_task_run, state="completed", end_time=utc_now(),
                    failure=FailureInfo(category="usererror", message=str(exc), code=(
                        IMAGE_NOT_FOUND if isinstance(exc, ImageMissing)
                        else "ContainerPoolNeeded")))
            return False
        failure = None if outcome.exit_code == 0 else FailureInfo(
            category="usererror", code="FailureExitCode",
            message=f"the StartTask exited with code {outcome.exit_code}")
        try:
            tail = nofollow.read_bytes(layout.host_root, dirs.file("stderr.txt"),
                                       tail=_STDERR_TAIL)
        except (OSError, nofollow.UnsafePath):
            tail = b""
        with self._lock:
            node.start_task_exit_code = outcome.exit_code
            node.start_task_stderr = tail.decode("utf-8", "replace")
            node.start_task_run = replace(node.start_task_run, state="completed", end_time=utc_now(),
                                          exit_code=outcome.exit_code, retry_count=attempt,
                                          failure=failure)
        return outcome.exit_code == 0

    def _start_task_attempt(self, node: Node, dirs, user, env):
        """One run of the StartTask, into fresh stdout.txt/stderr.txt (new
        files: a link or hard link put in their place is replaced, never
        truncated through)."""
        root, fds = node.layout.host_root, []
        try:
            for name in ("stdout.txt", "stderr.txt"):
                nofollow.replace_file(root, dirs.file(name), (), mode=0o644)
                fds.append(nofollow.open_file(root, dirs.file(name), os.O_WRONLY | os.O_APPEND))
            start = self.spec.start_task
            return node.handle.run(shlex.split(start.command_line), env=env,
                                   workdir=str(dirs.node_wd), stdout=fds[0], stderr=fds[1],
                                   user=user, **container_kwargs(node, start, dirs, None))
        finally:
            for fd in fds:
                os.close(fd)

    def delete(self, boot_timeout: float = 60.0) -> None:
        """Remove every node container and the pool's directory.

        Containers still starting are waited for and removed too, so nothing
        is left behind once this returns.
        """
        with self._lock:
            self.deleting = True
            for node in self.nodes:
                node.state = NodeState.UNUSABLE
            self._lock.notify_all()  # nodes leaving after their tasks go now
        errors = self._remove_all()
        for thread in self._threads:
            thread.join(boot_timeout)
        errors += self._remove_all()  # any that finished starting meanwhile
        shutil.rmtree(self.host_dir, ignore_errors=True)
        if errors:
            raise errors[0]

    def _remove_all(self) -> list[NodeError]:
        """Remove every node's container (lost nodes' too: idempotent)."""
        errors = []
        with ThreadPoolExecutor(max(1, len(self.nodes)), thread_name_prefix="rm") as pool:
            for future in [pool.submit(n.handle.remove) for n in self.nodes]:
                try:
                    future.result()
                except NodeError as exc:
                    errors.append(exc)
        return errors


def _remove_quietly(handle) -> None:
    try:
        handle.remove()
    except NodeError:
        pass  # gone already, or Docker will not say: nothing more to do
