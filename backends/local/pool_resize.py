"""Resizing a local pool as Batch resizes one: nodes join (booting in the
background, StartTask included) or leave, and the pool's allocation state
is ``resizing`` (``stopping`` after a stop) until every change is done.

A node that leaves is ``leavingpool`` at once and takes no new task; what
becomes of the tasks it runs is the resize's ``nodeDeallocationOption``:

- ``requeue`` (Batch's default): its container goes now, its running tasks
  go back to their job's queue, first (``requeueCount``, not a retry);
- ``terminate``: its container goes now, its running tasks complete failed
  (``TaskEnded``) and do not run again;
- ``taskcompletion`` / ``retaineddata``: it finishes the tasks it runs,
  then goes (nodes keep no data after they leave here, so the two are one).

Nodes chosen to leave are those doing least: not yet started, then failed
or unusable, then idle, then the ones running fewest tasks. Everything here
runs under the engine's lock unless it says otherwise.
"""

from __future__ import annotations

import shutil

from topwords.core.model import NodeState

from .batch_engine import DEALLOCATION_OPTIONS, StateConflict

__all__ = ["DEALLOCATION_OPTIONS", "remove_nodes", "resize", "stop_resize"]

#: which nodes leave first (lower first)
_LEAVE_ORDER = {NodeState.CREATING: 0, NodeState.STARTING: 1, NodeState.UNUSABLE: 2,
                NodeState.START_TASK_FAILED: 3, NodeState.WAITING_FOR_START_TASK: 4,
                NodeState.UNKNOWN: 5, NodeState.IDLE: 6, NodeState.RUNNING: 7}


def resize(pool, dedicated: int, spot: int, deallocation: str = "requeue") -> None:
    """Set the pool's targets and start the nodes joining or leaving that
    reach them; returns at once.

    Args:
        pool: a ``NodePool`` (the engine holds its lock).
        dedicated / spot: the new targets (0 or more).
        deallocation: one of :data:`DEALLOCATION_OPTIONS`.
    Raises:
        StateConflict: ``PoolBeingDeleted``, or ``PoolBeingResized`` if the
            pool is not steady.
        ValueError: an unknown ``deallocation``.
    Idempotent: a resize to the current targets changes nothing.
    """
    if deallocation not in DEALLOCATION_OPTIONS:
        raise ValueError(f"unknown node deallocation option {deallocation!r}")
    _refuse_unless_steady(pool)
    pool.set_targets(dedicated, spot)
    pool.stopping = False
    for is_dedicated, target in ((True, dedicated), (False, spot)):
        members = [n for n in pool.nodes if n.dedicated is is_dedicated and _counts(n)]
        for _ in range(target - len(members)):
            pool.add_node(dedicated=is_dedicated)
        surplus = len(members) - target
        if surplus > 0:
            ranked = sorted(enumerate(members), key=lambda item: (
                _LEAVE_ORDER.get(item[1].state, 8), len(item[1].running), -item[0]))
            for _, node in ranked[:surplus]:
                _leave(pool, node, deallocation)


def remove_nodes(pool, node_ids, deallocation: str = "requeue") -> None:
    """Take the named nodes out of the pool (Batch's remove nodes): each
    leaves per ``deallocation`` as in a resize, and the pool's targets go
    down by as many of each kind; returns at once.

    Raises:
        StateConflict: ``PoolBeingDeleted``, ``PoolBeingResized``.
        ValueError: an unknown ``deallocation``, or a node id that is not
            one of the pool's nodes (nothing is removed then).
    """
    if deallocation not in DEALLOCATION_OPTIONS:
        raise ValueError(f"unknown node deallocation option {deallocation!r}")
    _refuse_unless_steady(pool)
    by_id = {n.id: n for n in pool.nodes if _counts(n)}
    unknown = [i for i in node_ids if i not in by_id]
    if unknown:
        raise ValueError(f"node {unknown[0]} is not a node of pool {pool.spec.id}")
    leaving = [by_id[i] for i in dict.fromkeys(node_ids)]
    dedicated = sum(n.dedicated for n in leaving)
    pool.set_targets(max(0, pool.spec.node_count - dedicated),
                     max(0, pool.spec.spot_node_count - (len(leaving) - dedicated)))
    pool.stopping = False
    for node in leaving:
        _leave(pool, node, deallocation)


def stop_resize(pool) -> None:
    """Stop a resize: nodes not started yet leave, every other node stays
    (nodes already leaving still go); the pool is ``stopping`` until then,
    then ``steady``. Targets stay as they were asked. Returns at once.

    Raises:
        StateConflict: ``PoolBeingDeleted``.
    Idempotent.
    """
    if pool.deleting:
        raise StateConflict(f"pool {pool.spec.id} is being deleted", code="PoolBeingDeleted")
    if not allocation_changing(pool):
        return
    pool.stopping = True
    for node in list(pool.nodes):
        if node.state in (NodeState.CREATING, NodeState.STARTING):
            _leave(pool, node, "requeue")


def allocation_changing(pool) -> bool:
    """Whether nodes are still joining or leaving."""
    return any(n.state in (NodeState.CREATING, NodeState.STARTING, NodeState.LEAVING_POOL)
               for n in pool.nodes)


def _refuse_unless_steady(pool) -> None:
    if pool.deleting:
        raise StateConflict(f"pool {pool.spec.id} is being deleted", code="PoolBeingDeleted")
    if allocation_changing(pool):
        raise StateConflict(f"pool {pool.spec.id} is being resized: wait until its "
                            "allocation state is steady (or stop the resize)",
                            code="PoolBeingResized")


def _counts(node) -> bool:
    """Whether a node counts toward its pool's size (lost nodes, replaced
    already, and leaving ones do not)."""
    return not node.lost_reason and node.state is not NodeState.LEAVING_POOL


def _leave(pool, node, deallocation: str) -> None:
    node.state = NodeState.LEAVING_POOL
    wait = deallocation in ("taskcompletion", "retaineddata")
    if not wait:
        node.evicted = True  # its runners requeue its tasks (see task_runner)
        if deallocation == "terminate":
            for task in node.running:
                task.killed = True  # they complete as TaskEnded, and stay completed
    pool.in_background(lambda n: _depart(pool, n, wait), node, "leave")


def _depart(pool, node, wait_for_tasks: bool) -> None:
    """(In a background thread, without the lock.) Let the node finish its
    tasks if asked, then remove its container, take it off the pool once its
    runners are done with it, and remove its directory."""
    lock = pool.lock
    with lock:
        lock.wait_for(lambda: not node.booting and (
            not wait_for_tasks or not node.running or pool.deleting))
        node.evicted = True
    pool.remove_node_handle(node)
    with lock:
        lock.wait_for(lambda: not node.running, timeout=60)
        if node in pool.nodes:
            pool.nodes.remove(node)
        pool.notify_change()
    shutil.rmtree(node.layout.host_root, ignore_errors=True)
    shutil.rmtree(pool.agent_dir(node), ignore_errors=True)
