"""The local engine's scheduling bookkeeping, without Docker.

``PendingTasks`` (backends/local/jobs.py) keeps, per pending task, the count
of its dependencies that have not succeeded and, per task id, who waits for
it, so that a completion touches only its dependents. These tests check it
against a naive recomputation (every pending task, every dependency, every
time), and check ``LocalBatchEngine``'s placements, task counts and job
completion against a reference model of the engine's previous scheduler,
which walked every pending task and all its dependencies on each change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topwords.backends.local.engine import LocalBatchEngine
from topwords.backends.local.jobs import Job, PendingTasks
from topwords.backends.local.node_pool import Node
from topwords.backends.local.records import JobState
from topwords.backends.local.task_runner import Task
from topwords.core.compute import _runnable
from topwords.core.model import (
    JobSpec, NodeState, TaskCounts, TaskInfo, TaskResult, TaskSpec, TaskState,
)


def task(task_id: str, *deps: str) -> Task:
    return Task(spec=TaskSpec(id=task_id, command_line="true", depends_on=tuple(deps)),
                job_id="j")


def drain(pending: PendingTasks) -> list[str]:
    out = []
    while (t := pending.take()) is not None:
        out.append(t.spec.id)
    return out


def never(_: str) -> bool:
    return False


# ------------------------------------------------------------ PendingTasks
def test_take_without_dependencies_returns_tasks_in_submission_order():
    pending = PendingTasks()
    for name in ("c", "a", "b"):
        pending.add(task(name), never)
    assert pending.has_runnable() and len(pending) == 3
    assert drain(pending) == ["c", "a", "b"]
    assert not pending.has_runnable() and len(pending) == 0


def test_take_with_unmet_dependency_waits_until_every_dependency_succeeded():
    pending = PendingTasks()
    pending.add(task("reduce", "m1", "m2"), never)
    assert pending.take() is None and not pending.has_runnable()
    pending.succeeded("m1")
    assert pending.take() is None
    pending.succeeded("m2")
    assert drain(pending) == ["reduce"]


def test_add_with_dependency_already_succeeded_is_runnable_at_once():
    pending = PendingTasks()
    pending.add(task("b", "a"), lambda d: d == "a")
    assert drain(pending) == ["b"]


def test_add_with_repeated_dependency_counts_it_once():
    pending = PendingTasks()
    pending.add(task("b", "a", "a", "a"), never)
    pending.succeeded("a")
    assert drain(pending) == ["b"]


def test_succeeded_of_a_dependency_added_later_releases_the_waiting_task():
    pending = PendingTasks()
    pending.add(task("b", "a"), never)  # "a" is not in the job yet
    pending.add(task("a"), never)
    assert drain(pending) == ["a"]
    pending.succeeded("a")
    assert drain(pending) == ["b"]


def test_runnable_tasks_come_out_in_submission_order_not_release_order():
    pending = PendingTasks()
    pending.add(task("x", "p"), never)
    pending.add(task("y", "q"), never)
    pending.succeeded("q")
    pending.succeeded("p")
    assert drain(pending) == ["x", "y"]


def test_remove_pending_task_is_never_taken_and_not_counted():
    pending = PendingTasks()
    a, b, c = task("a"), task("b", "z"), task("c")
    for t in (a, b, c):
        pending.add(t, never)
    pending.remove(a)
    pending.remove(b)
    pending.remove(b)  # twice: no effect
    pending.succeeded("z")
    assert len(pending) == 1 and b not in pending
    assert drain(pending) == ["c"]
    assert not pending.has_runnable()


def test_iterating_pending_lists_blocked_and_runnable_in_submission_order():
    pending = PendingTasks()
    for t in (task("a", "x"), task("b"), task("c", "x")):
        pending.add(t, never)
    assert [t.spec.id for t in pending] == ["a", "b", "c"]


def test_clear_forgets_every_pending_task():
    pending = PendingTasks()
    pending.add(task("a"), never)
    pending.add(task("b", "a"), never)
    pending.clear()
    pending.succeeded("a")
    assert len(pending) == 0 and pending.take() is None


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_runnable_set_after_random_completions_equals_naive_recomputation(data):
    """Random DAG-less dependencies (any id, missing ones too), random
    successes and failures and removals; at random points every runnable
    task is taken and compared with the naive answer."""
    ids = [f"t{i}" for i in range(data.draw(st.integers(1, 25)))]
    deps = {i: data.draw(st.lists(st.sampled_from(ids + ["ghost"]), max_size=4), label=i)
            for i in ids}
    result: dict[str, bool] = {}  # completed id -> succeeded
    pending, tasks, waiting = PendingTasks(), {}, []  # waiting: naive pending, in order
    placed: list[str] = []
    for i in ids:
        tasks[i] = task(i, *deps[i])
        pending.add(tasks[i], lambda d: result.get(d, False))
        waiting.append(i)
    for _ in range(data.draw(st.integers(0, 60))):
        action = data.draw(st.sampled_from(["take", "complete", "remove"]))
        if action == "take":
            naive = [i for i in waiting if all(result.get(d, False) for d in deps[i])]
            assert drain(pending) == naive
            waiting = [i for i in waiting if i not in naive]
            placed += naive
        elif action == "complete" and placed:
            done = data.draw(st.sampled_from(placed))
            placed.remove(done)
            result[done] = data.draw(st.booleans())
            if result[done]:
                pending.succeeded(done)
        elif action == "remove" and waiting:
            gone = data.draw(st.sampled_from(waiting))
            waiting.remove(gone)
            pending.remove(tasks[gone])
        assert len(pending) == len(waiting)
        assert pending.has_runnable() == any(
            all(result.get(d, False) for d in deps[i]) for i in waiting)


# ------------------------------------------------------------ the engine
@dataclass
class FakePool:
    nodes: list
    deleting: bool = False


class RecordingExecutor:
    """Stands in for the engine's thread pool: placed tasks wait here until
    the test completes them."""

    def __init__(self) -> None:
        self.submitted: list[tuple] = []

    def submit(self, fn, *args):
        self.submitted.append((fn, args))

    def shutdown(self, **_):
        pass


class FakeClient:
    def close(self):
        pass


def engine_with_nodes(tmp_path, slots: list[int]):
    engine = LocalBatchEngine(FakeClient(), image="img", work_dir=tmp_path)
    engine._executor.shutdown(wait=False)
    engine._executor = RecordingExecutor()
    nodes = [Node(id=f"node-{n}", handle=None, layout=None, state=NodeState.IDLE,
                  free_slots=s) for n, s in enumerate(slots)]
    engine._pools["p"] = FakePool(nodes)
    return engine, nodes


def complete(engine: LocalBatchEngine, task_id: str, job_id: str, succeed: bool) -> None:
    """Run the real TaskRunner.run for a placed task, its attempt scripted."""
    for n, (fn, (t, node)) in enumerate(engine._executor.submitted):
        if t.spec.id == task_id and t.job_id == job_id:
            del engine._executor.submitted[n]
            break
    else:
        raise AssertionError(f"{job_id}/{task_id} was not placed")
    outcome = (TaskResult.SUCCESS, None, 0) if succeed else (TaskResult.FAILURE, None, 1)
    engine._runner._attempt = lambda *_: outcome
    fn(t, node)


@dataclass
class Reference:
    """The previous scheduler, kept naive on purpose: on every change, each
    job's pending tasks in order, each checked against all its dependencies,
    each placed on the usable node with the most free slots."""

    slots: list[int]
    jobs: dict[str, list[str]] = field(default_factory=dict)  # job -> task ids in order
    deps: dict[tuple, tuple] = field(default_factory=dict)
    state: dict[tuple, str] = field(default_factory=dict)  # active/placed/completed
    succeeded: dict[tuple, bool] = field(default_factory=dict)
    node_of: dict[tuple, int] = field(default_factory=dict)
    pending: dict[str, list[str]] = field(default_factory=dict)
    lost: set[int] = field(default_factory=set)

    def add(self, job: str, tasks: list[tuple[str, tuple]]) -> None:
        for task_id, deps in tasks:
            self.jobs[job].append(task_id)
            self.deps[(job, task_id)] = deps
            self.state[(job, task_id)] = "active"
            self.pending[job].append(task_id)
        self.dispatch()

    def ready(self, job: str, task_id: str) -> bool:
        return all(self.succeeded.get((job, d), False) for d in self.deps[(job, task_id)])

    def dispatch(self) -> None:
        for job, pending in self.pending.items():
            keep = []
            for task_id in pending:
                free = [n for n, s in enumerate(self.slots) if s > 0 and n not in self.lost]
                node = max(free, key=lambda n: self.slots[n]) if free else None
                if node is None or not self.ready(job, task_id):
                    keep.append(task_id)
                    continue
                self.slots[node] -= 1
                self.state[(job, task_id)], self.node_of[(job, task_id)] = "placed", node
            self.pending[job] = keep

    def complete(self, job: str, task_id: str, succeed: bool) -> None:
        key = (job, task_id)
        if self.state[key] == "placed":
            self.slots[self.node_of[key]] += 1
        else:
            self.pending[job].remove(task_id)
        self.state[key], self.succeeded[key] = "completed", succeed
        self.dispatch()

    def requeue(self, job: str, task_id: str) -> None:
        """Its node was lost: back in the queue, first."""
        self.state[(job, task_id)] = "active"
        del self.node_of[(job, task_id)]
        self.pending[job].insert(0, task_id)
        self.dispatch()

    def counts(self, job: str) -> TaskCounts:
        keys = [(job, t) for t in self.jobs[job]]
        done = [k for k in keys if self.state[k] == "completed"]
        ok = sum(self.succeeded[k] for k in done)
        return TaskCounts(active=sum(self.state[k] == "active" for k in keys),
                          running=sum(self.state[k] == "placed" for k in keys),
                          completed=len(done), succeeded=ok, failed=len(done) - ok)


def lose_node(engine: LocalBatchEngine, node: Node) -> list[tuple[str, str]]:
    """The node is lost: each task on it is requeued by its runner, in the
    order they were placed; returns (job, task id) of those."""
    with engine._lock:
        node.state = NodeState.UNUSABLE
    on_it = [(fn, t) for fn, (t, n) in engine._executor.submitted if n is node]
    engine._executor.submitted = [e for e in engine._executor.submitted if e[1][1] is not node]
    for _, t in on_it:
        assert engine._runner._requeue(t, node)
    return [(t.job_id, t.spec.id) for _, t in on_it]


def placements(engine: LocalBatchEngine) -> dict[tuple, int]:
    return {(t.job_id, t.spec.id): int(node.id.split("-")[1])
            for _, (t, node) in engine._executor.submitted}


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_engine_placements_counts_and_job_end_equal_the_naive_scheduler(tmp_path_factory,
                                                                        data):
    slots = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="slots")
    engine, nodes = engine_with_nodes(tmp_path_factory.mktemp("nodes"), slots)
    ref = Reference(list(slots))
    jobs = ["ja", "jb"][:data.draw(st.integers(1, 2))]
    for job in jobs:
        engine.create_job(JobSpec(id=job, pool_id="p", uses_task_dependencies=True))
        ref.jobs[job], ref.pending[job] = [], []
    made = {job: 0 for job in jobs}
    ended = {job: False for job in jobs}
    for _ in range(data.draw(st.integers(1, 40), label="steps")):
        job = data.draw(st.sampled_from(jobs))
        placed = [k for k in placements(engine) if k[0] == job]
        waiting = list(ref.pending[job])
        action = data.draw(st.sampled_from(["add", "complete", "complete", "terminate",
                                            "end", "lose"]))
        if action == "add" and not ended[job]:
            count = data.draw(st.integers(1, 6))
            new = []
            for _ in range(count):
                task_id = f"t{made[job]}"
                made[job] += 1
                pool = [f"t{i}" for i in range(made[job] + 3)]  # later ids, missing ones too
                new.append((task_id, tuple(data.draw(st.lists(st.sampled_from(pool),
                                                              max_size=3)))))
            engine.add_tasks(job, [TaskSpec(id=i, command_line="true", depends_on=d)
                                   for i, d in new])
            ref.add(job, new)
        elif action == "complete" and placed:
            _, task_id = data.draw(st.sampled_from(placed))
            succeed = data.draw(st.booleans())
            complete(engine, task_id, job, succeed)
            ref.complete(job, task_id, succeed)
        elif action == "terminate" and waiting:
            task_id = data.draw(st.sampled_from(waiting))
            engine.terminate_task(job, task_id)
            ref.complete(job, task_id, False)
        elif action == "lose" and len(ref.lost) < len(nodes) - 1 and placements(engine):
            busy = sorted(set(placements(engine).values()))  # a node running tasks
            n = data.draw(st.sampled_from(busy))
            requeued = lose_node(engine, nodes[n])
            ref.lost.add(n)
            for job_id, task_id in requeued:
                ref.requeue(job_id, task_id)
        elif action == "end" and not ended[job]:
            engine.set_terminate_when_tasks_complete(job)
            ended[job] = True
        assert placements(engine) == {k: v for k, v in ref.node_of.items()
                                      if ref.state[k] == "placed"}
        for j in jobs:
            counts = engine.task_counts(j)
            assert counts == ref.counts(j) == TaskCounts.of(engine.list_tasks(j))
            all_done = counts.completed == counts.total
            assert (engine.job_record(j).state == JobState.COMPLETED) == (ended[j] and all_done)


def test_reduce_of_many_maps_is_placed_once_the_last_map_succeeds(tmp_path):
    engine, _ = engine_with_nodes(tmp_path, [2, 2])
    engine.create_job(JobSpec(id="j", pool_id="p", uses_task_dependencies=True))
    maps = [TaskSpec(id=f"m{i}", command_line="true") for i in range(50)]
    engine.add_tasks("j", [*maps, TaskSpec(id="reduce", command_line="true",
                                           depends_on=tuple(m.id for m in maps))])
    for i in range(50):
        assert ("j", "reduce") not in placements(engine)
        complete(engine, f"m{i}", "j", True)
    assert ("j", "reduce") in placements(engine)
    assert engine.task_counts("j") == TaskCounts(running=1, completed=50, succeeded=50)


def test_reduce_whose_map_failed_stays_active_and_the_job_reports_it(tmp_path):
    engine, _ = engine_with_nodes(tmp_path, [1])
    engine.create_job(JobSpec(id="j", pool_id="p", uses_task_dependencies=True))
    engine.add_tasks("j", [TaskSpec(id="m0", command_line="true"),
                           TaskSpec(id="m1", command_line="true"),
                           TaskSpec(id="reduce", command_line="true", depends_on=("m0", "m1"))])
    complete(engine, "m0", "j", False)
    complete(engine, "m1", "j", True)
    assert placements(engine) == {}
    assert engine.task_counts("j") == TaskCounts(active=1, completed=2, succeeded=1, failed=1)
    [reduce] = [t for t in engine.list_tasks("j") if t.id == "reduce"]
    assert reduce.state is TaskState.ACTIVE
    assert [t.id for t in _runnable(engine.list_tasks("j"))] == []


def test_terminated_job_places_nothing_more_and_completes_when_running_ones_end(tmp_path):
    engine, _ = engine_with_nodes(tmp_path, [1])
    engine.create_job(JobSpec(id="j", pool_id="p"))
    engine.add_tasks("j", [TaskSpec(id=f"t{i}", command_line="true") for i in range(3)])
    engine._runner.kill = lambda task: None  # nothing runs for real
    engine.terminate_job("j")
    assert engine.job_record("j").state == JobState.TERMINATING
    complete(engine, "t0", "j", False)
    assert placements(engine) == {}
    assert engine.job_record("j").state == JobState.COMPLETED
    assert engine.task_counts("j") == TaskCounts(active=2, completed=1, failed=1)


# ------------------------------------------------------------ core: _runnable
def info(task_id: str, state: TaskState, *deps: str, ok: bool = True) -> TaskInfo:
    done = state is TaskState.COMPLETED
    return TaskInfo(id=task_id, state=state, depends_on=deps,
                    result=(TaskResult.SUCCESS if ok else TaskResult.FAILURE) if done else None,
                    exit_code=(0 if ok else 1) if done else None)


def test_runnable_with_a_failed_ancestor_far_up_a_long_chain_is_empty():
    chain = [info("t0", TaskState.COMPLETED, ok=False)]
    chain += [info(f"t{i}", TaskState.ACTIVE, f"t{i - 1}") for i in range(1, 5000)]
    assert _runnable(chain) == []  # no RecursionError on a 5,000-long chain


def test_runnable_lists_tasks_whose_ancestors_have_not_failed():
    tasks = [info("a", TaskState.COMPLETED, ok=False), info("b", TaskState.COMPLETED),
             info("c", TaskState.ACTIVE, "b"), info("d", TaskState.ACTIVE, "c", "a"),
             info("e", TaskState.RUNNING), info("f", TaskState.ACTIVE, "missing")]
    assert [t.id for t in _runnable(tasks)] == ["c", "e", "f"]


@pytest.mark.parametrize("cycle", [("x", "y"), ("x", "x")])
def test_runnable_with_a_dependency_cycle_ends(cycle):
    a, b = cycle
    tasks = [info("x", TaskState.ACTIVE, b), info("y", TaskState.ACTIVE, a),
             info("z", TaskState.COMPLETED, ok=False)]
    assert {t.id for t in _runnable(tasks)} == {"x", "y"}


# ------------------------------------------------------------ add_tasks
@pytest.mark.parametrize("second", [["t1", "t2", "t1"], ["t0"]])
def test_add_tasks_with_a_repeated_or_existing_id_raises_and_adds_nothing(tmp_path, second):
    from topwords.core.errors import ResourceExists
    engine, _ = engine_with_nodes(tmp_path, [1])
    engine.create_job(JobSpec(id="j", pool_id="p"))
    engine.add_tasks("j", [TaskSpec(id="t0", command_line="true")])
    with pytest.raises(ResourceExists, match="task t[01] already exists in job j"):
        engine.add_tasks("j", [TaskSpec(id=i, command_line="true") for i in second])
    assert [t.id for t in engine.list_tasks("j")] == ["t0"]


def test_a_node_stamps_each_change_of_its_state():
    """stateTransitionTime: set when the state changes, kept when it is set again."""
    import time
    node = Node(id="node-0", handle=None, layout=None)
    created = node.state_changed
    time.sleep(0.002)
    node.state = NodeState.CREATING  # the same state: no transition
    assert node.state_changed == created
    node.state = NodeState.IDLE
    idle = node.state_changed
    assert idle > created and node.record().state_changed == idle
