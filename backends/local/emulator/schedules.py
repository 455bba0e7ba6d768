"""Job schedules: the emulator's store of them and the jobs they make.

A schedule makes jobs from its ``jobSpecification`` on the engine's clock
(advance it to make time pass: see ``backends.local.clock``), as the
service does:

* the first job is due at ``doNotRunUntil`` (now if not given), then one
  every ``recurrenceInterval``; without an interval there is one job and the
  schedule completes when it finishes;
* at most one job is active at a time: a job that is due while the last one
  still runs waits for it, within ``startWindow`` (no limit if not given)
  and never past the next due time; a missed turn is lost;
* no job is made at or after ``doNotRunAfter``, and the schedule completes
  once that time has passed and its job has finished;
* jobs are named ``<schedule id>:job-<n>``, n from 1.

Disabled schedules make no jobs (a job that came due meanwhile is made on
enable, if its window is still open); terminating one terminates its active
job, and it completes when that job has; deleting one deletes its jobs, and
it is gone when they are.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

from topwords.backends.local.clock import Ticker
from topwords.backends.local.batch_engine import StateConflict
from topwords.core.errors import ConfigError, JobNotFound, ResourceExists
from topwords.core.model import JobSpec

from . import shapes
from .errors import BatchApiError, bad_value
from .shapes.schedule import ScheduleConfig

__all__ = ["JobScheduleRecord", "JobSchedules", "ScheduledJobSpec"]

log = logging.getLogger("topwords.emulator.schedules")


@dataclass(frozen=True, kw_only=True)
class ScheduledJobSpec(JobSpec):
    """A job a schedule made: Batch names it ``<schedule id>:job-<n>``, an
    id no client may give a job itself."""

    def __post_init__(self) -> None:
        schedule_id, sep, number = self.id.rpartition(":job-")
        if not sep or not number.isdigit():
            raise ConfigError(f"not the id of a scheduled job: {self.id!r}")
        JobSpec(id=schedule_id, pool_id=self.pool_id)  # the schedule's id is a valid job id


@dataclass(eq=False)
class JobScheduleRecord:
    """One schedule, all its state (guarded by ``JobSchedules``' lock)."""

    id: str
    config: ScheduleConfig
    job_specification: dict
    created: datetime
    display_name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    state: str = "active"
    state_changed: datetime | None = None
    previous_state: str | None = None
    previous_state_changed: datetime | None = None
    modified: datetime | None = None
    next_run: datetime | None = None
    last_slot: datetime | None = None  # when the last job was due
    jobs: list[str] = field(default_factory=list)
    end_time: datetime | None = None

    @property
    def recent_job(self) -> str | None:
        return self.jobs[-1] if self.jobs else None

    def move(self, state: str, now: datetime) -> None:
        if state != self.state:
            self.previous_state, self.previous_state_changed = self.state, self.state_changed
            self.state, self.state_changed = state, now
            self.modified = _wall()
        if state == "completed":
            self.end_time, self.next_run = now, None


def _wall() -> datetime:
    return datetime.now(timezone.utc)


class JobSchedules:
    """The schedules of one emulator (``service``: its routing ``Service``)."""

    def __init__(self, service) -> None:
        self.service = service
        self.lock = threading.RLock()
        self._records: dict[str, JobScheduleRecord] = {}
        self._ticker: Ticker | None = None

    @property
    def clock(self):
        return self.service.engine.clock

    # -- the store ------------------------------------------------------------------

    def add(self, record: JobScheduleRecord) -> None:
        """Keep a new schedule and make its first job if it is due now.

        Raises:
            BatchApiError: 409 JobScheduleExists / JobWithSameIdExists.
        """
        with self.lock:
            if record.id in self._records:
                raise BatchApiError(409, "JobScheduleExists", "The specified job schedule "
                                    "already exists.", {"JobScheduleId": record.id})
            try:
                self.service.engine.job_record(record.id)
            except JobNotFound:
                pass
            else:
                raise BatchApiError(409, "JobWithSameIdExists", "A job with the specified "
                                    "job schedule id exists; a job and a job schedule cannot "
                                    "have the same id.", {"JobScheduleId": record.id})
            now = self.clock.now()
            record.state_changed = record.modified = record.created
            self.reschedule(record, now)
            self._records[record.id] = record
            self._advance(record, now)
        self._start()

    def get(self, schedule_id: str) -> JobScheduleRecord:
        """Raises BatchApiError 404 JobScheduleNotFound."""
        with self.lock:
            record = self._records.get(schedule_id)
        if record is None:
            raise BatchApiError(404, "JobScheduleNotFound", "The specified job schedule does "
                                "not exist.", {"JobScheduleId": schedule_id})
        return record

    def has(self, schedule_id: str) -> bool:
        with self.lock:
            return schedule_id in self._records

    def all(self) -> list[JobScheduleRecord]:
        with self.lock:
            return list(self._records.values())

    def changeable(self, schedule_id: str) -> JobScheduleRecord:
        """A schedule that may be updated, disabled, enabled or terminated.

        Raises:
            BatchApiError: 404; 409 JobScheduleCompleted / BeingTerminated /
                BeingDeleted.
        """
        record = self.get(schedule_id)
        code = {"completed": "JobScheduleCompleted", "terminating": "JobScheduleBeingTerminated",
                "deleting": "JobScheduleBeingDeleted"}.get(record.state)
        if code:
            raise BatchApiError(409, code, f"The job schedule is {record.state}.",
                                {"JobScheduleId": schedule_id})
        return record

    # -- changes ------------------------------------------------------------------------

    def reschedule(self, record: JobScheduleRecord, now: datetime) -> None:
        """When the next job is due, after the schedule (config) changed."""
        config = record.config
        if record.last_slot is None:
            record.next_run = config.do_not_run_until or now
        elif config.recurrence:
            record.next_run = max(record.last_slot + config.recurrence,
                                  config.do_not_run_until or record.last_slot)
        else:
            record.next_run = None
        record.modified = _wall()

    def set_state(self, schedule_id: str, state: str) -> None:
        """Disable (``disabled``) or enable (``active``) a schedule."""
        with self.lock:
            record = self.changeable(schedule_id)
            record.move(state, self.clock.now())
            self._advance(record, self.clock.now())

    def terminate(self, schedule_id: str) -> None:
        with self.lock:
            record = self.changeable(schedule_id)
            record.move("terminating", self.clock.now())
            job = self._active_job(record)
            if job is not None:
                try:
                    self.service.engine.terminate_job(job, "UserTerminate")
                except (JobNotFound, StateConflict):
                    pass
            self._advance(record, self.clock.now())

    def delete(self, schedule_id: str) -> None:
        with self.lock:
            record = self.get(schedule_id)
            if record.state == "deleting":
                raise BatchApiError(409, "JobScheduleBeingDeleted", "The job schedule is being "
                                    "deleted.", {"JobScheduleId": schedule_id})
            record.move("deleting", self.clock.now())
            for job_id in record.jobs:
                try:
                    self.service.engine.start_deleting_job(job_id)
                except JobNotFound:
                    pass
            self._advance(record, self.clock.now())

    # -- time passing ---------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock.now()
        with self.lock:
            for record in list(self._records.values()):
                self._advance(record, now)

    def _advance(self, record: JobScheduleRecord, now: datetime) -> None:
        """Bring one schedule up to ``now`` (under the lock)."""
        active = self._active_job(record)
        if record.state == "deleting":
            if not any(self._exists(j) for j in record.jobs):
                self._records.pop(record.id, None)
            return
        if record.state == "terminating":
            if active is None:
                record.move("completed", now)
            return
        if record.state not in ("active", "disabled"):
            return
        config = record.config
        if record.next_run is not None and now >= record.next_run:
            slot = record.next_run
            if config.recurrence:
                slot += config.recurrence * ((now - slot) // config.recurrence)
            if config.do_not_run_after and slot >= config.do_not_run_after:
                record.next_run = None
            elif config.start_window and now > slot + config.start_window:
                record.next_run = slot + config.recurrence if config.recurrence else None
            elif record.state == "active" and active is None:
                self._make_job(record, slot)
                active = record.recent_job
                record.next_run = slot + config.recurrence if config.recurrence else None
            else:
                record.next_run = slot  # due: it waits for the job before it, or enable
        if active is None and (record.next_run is None or (
                config.do_not_run_after and now >= config.do_not_run_after)):
            record.move("completed", now)

    def _make_job(self, record: JobScheduleRecord, slot: datetime) -> None:
        job_id = f"{record.id}:job-{len(record.jobs) + 1}"
        spec, echo = job_spec_of(record.job_specification, job_id)
        service = self.service
        try:
            service.engine.create_job(spec, pool_must_exist=False, extras=echo, exit_job_actions=(
                str(echo.get("onTaskFailure", "")).lower() == "performexitoptionsjobaction"))
        except (ResourceExists, ConfigError) as exc:
            log.error("job schedule %s could not make job %s: %s", record.id, job_id, exc)
            return
        record.jobs.append(job_id)
        record.last_slot = slot
        record.modified = _wall()

    def _active_job(self, record: JobScheduleRecord) -> str | None:
        """The schedule's job that has not finished (None: there is none)."""
        job_id = record.recent_job
        if job_id is None:
            return None
        try:
            state = self.service.engine.job_record(job_id).state
        except JobNotFound:
            return None
        return job_id if state in ("active", "terminating") else None

    def _exists(self, job_id: str) -> bool:
        try:
            self.service.engine.job_record(job_id)
        except JobNotFound:
            return False
        return True

    # -- lifetime ---------------------------------------------------------------------------

    def _start(self) -> None:
        with self.lock:
            if self._ticker is None:
                self._ticker = Ticker(self.clock, self.tick, name="job-schedules",
                                      on_error=lambda e: log.error("schedules failed: %r", e))

    def stop(self) -> None:
        with self.lock:
            ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.stop()


def job_spec_of(job_specification: dict, job_id: str):
    """A schedule's ``jobSpecification`` as the spec and echo of the job
    ``job_id`` (400 if it is not a valid job)."""
    if not isinstance(job_specification, dict):
        raise bad_value("jobSpecification", "must be an object")
    spec, echo = shapes.job_spec({**job_specification, "id": "placeholder"})
    fields = {name: getattr(spec, name) for name in
              ("pool_id", "uses_task_dependencies", "terminate_when_tasks_complete",
               "metadata")}
    return ScheduledJobSpec(id=job_id, **fields), echo
