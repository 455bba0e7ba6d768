"""The local engine's one state history: jobs and tasks keep their state,
its last change and the state they left the same way, and their records
carry the same stamps."""

from __future__ import annotations

from topwords.backends.local.jobs import Job
from topwords.backends.local.records import JobState, StateHistory, utc_now
from topwords.backends.local.task_runner import Task
from topwords.core.model import JobSpec, TaskSpec, TaskState


def test_a_new_resource_changed_state_when_it_was_created():
    before = utc_now()
    history = StateHistory(state="a")
    assert before <= history.created == history.state_changed <= utc_now()
    assert history.previous_state is None and history.previous_state_changed is None


def test_move_remembers_the_state_left_and_when_and_a_same_state_move_changes_nothing():
    history = StateHistory(state="a")
    created = history.created
    history.move("b")
    assert (history.state, history.previous_state, history.previous_state_changed) == (
        "b", "a", created)
    moved = history.state_changed
    assert moved >= created
    history.move("b")
    assert (history.state_changed, history.previous_state) == (moved, "a")


def test_job_and_task_records_carry_their_history():
    job = Job(JobSpec(id="j", pool_id="p"))
    job.move(JobState.TERMINATING)
    job.move(JobState.COMPLETED, "done")
    record = job.record()
    assert (record.state, record.previous_state, record.terminate_reason) == (
        JobState.COMPLETED, JobState.TERMINATING, "done")
    assert record.end_time == record.state_changed == job.state_changed

    task = Task(spec=TaskSpec(id="t", command_line="true"), job_id="j")
    assert task.state is TaskState.ACTIVE
    task.move(TaskState.RUNNING)
    record = task.record("p")
    assert (record.info.state, record.previous_state) == (TaskState.RUNNING, TaskState.ACTIVE)
    assert record.created == task.created and record.state_changed == task.state_changed
