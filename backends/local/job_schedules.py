"""Job schedules in the engine: their live state and the jobs they make
(mixed into ``LocalBatchEngine`` as :class:`JobScheduleOperations`; the
records it hands out are ``records.JobScheduleRecord``).

A schedule makes jobs from its ``JobTemplate`` on the engine's clock
(advance it to make time pass: see ``clock``), as the service does:

* the first job is due at ``do_not_run_until`` (now if not given), then one
  every ``recurrence``; without one there is one job and the schedule
  completes when it finishes;
* at most one job is active at a time: a job that is due while the last one
  still runs waits for it, within ``start_window`` (no limit if not given)
  and never past the next due time; a missed turn is lost;
* no job is made at or after ``do_not_run_after``, and the schedule
  completes once that time has passed and its job has finished;
* jobs are named ``<schedule id>:job-<n>``, n from 1.

Disabled schedules make no jobs (a job that came due meanwhile is made on
enable, if its window is still open); terminating one terminates its active
job, and it completes when that job has; deleting one deletes its jobs, and
its record is gone when they are. Nothing of a schedule is kept anywhere
else, here or in a front end.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from topwords.core.errors import ConfigError, JobNotFound, ResourceExists
from topwords.core.model import JobSpec

from .batch_engine import Extras, JobScheduleNotFound, StateConflict
from .clock import Ticker
from .engine_changes import merge_extras
from .records import JobScheduleRecord, JobTemplate, ScheduleConfig, Tracked, utc_now

__all__ = ["JobScheduleOperations", "JobSchedules", "ScheduledJobSpec"]

log = logging.getLogger("topwords.engine.schedules")

_CONFLICTS = {"completed": "JobScheduleCompleted", "terminating": "JobScheduleBeingTerminated",
              "deleting": "JobScheduleBeingDeleted"}


@dataclass(frozen=True, kw_only=True)
class ScheduledJobSpec(JobSpec):
    """A job a schedule made: Batch names it ``<schedule id>:job-<n>``, an
    id no client may give a job itself."""

    def __post_init__(self) -> None:
        schedule_id, sep, number = self.id.rpartition(":job-")
        if not sep or not number.isdigit():
            raise ConfigError(f"not the id of a scheduled job: {self.id!r}")
        JobSpec(id=schedule_id, pool_id=self.pool_id)  # the schedule's id is a valid job id


@dataclass(eq=False, kw_only=True)
class JobSchedule(Tracked):
    """One live schedule (guarded by ``JobSchedules.lock``): every change of
    a tracked attribute is a change of its ``modified`` (ETag)."""

    TRACKED = frozenset({"config", "template", "metadata", "extras", "state", "next_run",
                         "last_slot", "jobs", "end_time"})

    id: str
    config: ScheduleConfig
    template: JobTemplate
    metadata: Mapping[str, str] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)
    created: datetime = field(default_factory=utc_now)
    state: str = "active"
    state_changed: datetime | None = None
    previous_state: str | None = None
    previous_state_changed: datetime | None = None
    next_run: datetime | None = None
    last_slot: datetime | None = None  # when the last job was due
    jobs: tuple[str, ...] = ()
    end_time: datetime | None = None

    def __post_init__(self) -> None:
        if self.state_changed is None:
            self.state_changed = self.created

    def touch(self) -> None:
        """An update that may have changed nothing still changes the ETag."""
        object.__setattr__(self, "modified", utc_now())

    def move(self, state: str, now: datetime) -> None:
        if state != self.state:
            self.previous_state, self.previous_state_changed = self.state, self.state_changed
            self.state, self.state_changed = state, now
        if state == "completed":
            self.end_time, self.next_run = now, None

    def reschedule(self, now: datetime) -> None:
        """When the next job is due, after the schedule (config) changed."""
        config = self.config
        if self.last_slot is None:
            self.next_run = config.do_not_run_until or now
        elif config.recurrence:
            self.next_run = max(self.last_slot + config.recurrence,
                                config.do_not_run_until or self.last_slot)
        else:
            self.next_run = None

    def record(self) -> JobScheduleRecord:
        return JobScheduleRecord(
            id=self.id, config=self.config, template=self.template, metadata=self.metadata,
            extras=self.extras, state=self.state, created=self.created, modified=self.modified,
            state_changed=self.state_changed, previous_state=self.previous_state,
            previous_state_changed=self.previous_state_changed, next_run=self.next_run,
            jobs=self.jobs, end_time=self.end_time)


class JobSchedules:
    """The schedules of one engine and their ticker (``engine``: the
    ``BatchEngine`` whose jobs they make, through its public methods only).
    Lock order: this lock, then the engine's."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.lock = threading.RLock()
        self._live: dict[str, JobSchedule] = {}
        self._ticker: Ticker | None = None

    @property
    def clock(self):
        return self.engine.clock

    def has(self, schedule_id: str) -> bool:
        with self.lock:
            return schedule_id in self._live

    def _get(self, schedule_id: str) -> JobSchedule:
        schedule = self._live.get(schedule_id)
        if schedule is None:
            raise JobScheduleNotFound(schedule_id)
        return schedule

    def _changeable(self, schedule_id: str) -> JobSchedule:
        schedule = self._get(schedule_id)
        code = _CONFLICTS.get(schedule.state)
        if code:
            raise StateConflict(f"The job schedule is {schedule.state}.", code=code)
        return schedule

    # -- what JobScheduleOperations offers ---------------------------------------------

    def create(self, schedule_id: str, config: ScheduleConfig, template: JobTemplate, *,
               metadata: Mapping[str, str] | None, extras: Extras | None) -> JobScheduleRecord:
        JobSpec(id=schedule_id, pool_id=template.spec.pool_id)  # a valid id (ConfigError)
        with self.lock:
            if schedule_id in self._live:
                raise ResourceExists(f"job schedule {schedule_id} exists")
            try:
                self.engine.job_record(schedule_id)
            except JobNotFound:
                pass
            else:
                raise StateConflict("A job with the specified job schedule id exists; a job "
                                    "and a job schedule cannot have the same id.",
                                    code="JobWithSameIdExists")
            schedule = JobSchedule(id=schedule_id, config=config, template=template,
                                   metadata=dict(metadata or {}),
                                   extras=merge_extras({}, extras or {}))
            schedule.reschedule(self.clock.now())
            self._live[schedule_id] = schedule
            self._advance(schedule, self.clock.now())
            if self._ticker is None:
                self._ticker = Ticker(self.clock, self.tick, name="job-schedules",
                                      on_error=lambda e: log.error("schedules failed: %r", e))
            return schedule.record()

    def records(self) -> list[JobScheduleRecord]:
        with self.lock:
            self.tick()
            return [s.record() for s in self._live.values()]

    def record(self, schedule_id: str) -> JobScheduleRecord:
        with self.lock:
            schedule = self._get(schedule_id)
            self._advance(schedule, self.clock.now())
            return self._get(schedule_id).record()  # gone if its delete just finished

    def update(self, schedule_id: str, *, config: ScheduleConfig | None,
               template: JobTemplate | None, metadata: Mapping[str, str] | None,
               extras: Extras | None) -> JobScheduleRecord:
        with self.lock:
            schedule = self._changeable(schedule_id)
            if config is not None:
                schedule.config = config
                schedule.reschedule(self.clock.now())
            if template is not None:
                schedule.template = template
            if metadata is not None:
                schedule.metadata = dict(metadata)
            if extras:
                schedule.extras = merge_extras(schedule.extras, extras)
            schedule.touch()
            self._advance(schedule, self.clock.now())
            return schedule.record()

    def set_state(self, schedule_id: str, state: str) -> None:
        with self.lock:
            schedule = self._changeable(schedule_id)
            schedule.move(state, self.clock.now())
            self._advance(schedule, self.clock.now())

    def terminate(self, schedule_id: str) -> None:
        with self.lock:
            schedule = self._changeable(schedule_id)
            schedule.move("terminating", self.clock.now())
            job = self._active_job(schedule)
            if job is not None:
                try:
                    self.engine.terminate_job(job, "UserTerminate")
                except (JobNotFound, StateConflict):
                    pass
            self._advance(schedule, self.clock.now())

    def start_deleting(self, schedule_id: str) -> bool:
        with self.lock:
            schedule = self._get(schedule_id)
            if schedule.state == "deleting":
                return False
            schedule.move("deleting", self.clock.now())
            for job_id in schedule.jobs:
                try:
                    self.engine.start_deleting_job(job_id)
                except JobNotFound:
                    pass
            self._advance(schedule, self.clock.now())
            return True

    # -- time passing -----------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock.now()
        with self.lock:
            for schedule in list(self._live.values()):
                self._advance(schedule, now)

    def _advance(self, schedule: JobSchedule, now: datetime) -> None:
        """Bring one schedule up to ``now`` (under the lock)."""
        active = self._active_job(schedule)
        if schedule.state == "deleting":
            if not any(self._exists(j) for j in schedule.jobs):
                self._live.pop(schedule.id, None)  # nothing of it is left
            return
        if schedule.state == "terminating":
            if active is None:
                schedule.move("completed", now)
            return
        if schedule.state not in ("active", "disabled"):
            return
        config = schedule.config
        if schedule.next_run is not None and now >= schedule.next_run:
            slot = schedule.next_run
            if config.recurrence:
                slot += config.recurrence * ((now - slot) // config.recurrence)
            if config.do_not_run_after and slot >= config.do_not_run_after:
                schedule.next_run = None
            elif config.start_window and now > slot + config.start_window:
                schedule.next_run = slot + config.recurrence if config.recurrence else None
            elif schedule.state == "active" and active is None:
                if self._make_job(schedule, slot):
                    active = schedule.jobs[-1]
                schedule.next_run = slot + config.recurrence if config.recurrence else None
            else:
                schedule.next_run = slot  # due: it waits for the job before it, or enable
        if active is None and (schedule.next_run is None or (
                config.do_not_run_after and now >= config.do_not_run_after)):
            schedule.move("completed", now)

    def _make_job(self, schedule: JobSchedule, slot: datetime) -> bool:
        job_id = f"{schedule.id}:job-{len(schedule.jobs) + 1}"
        template = schedule.template
        spec = ScheduledJobSpec(**{**template.spec.__dict__, "id": job_id})
        try:
            self.engine.create_job(  # the template's onTaskFailure, as a job create's
                spec, pool_must_exist=False, extras=template.extras, exit_job_actions=str(
                    template.extras.get("onTaskFailure", "")).lower()
                == "performexitoptionsjobaction")
        except (ResourceExists, ConfigError) as exc:
            log.error("job schedule %s could not make job %s: %s", schedule.id, job_id, exc)
            return False
        schedule.jobs = schedule.jobs + (job_id,)
        schedule.last_slot = slot
        return True

    def _active_job(self, schedule: JobSchedule) -> str | None:
        """The schedule's job that has not finished (None: there is none)."""
        if not schedule.jobs:
            return None
        try:
            state = self.engine.job_record(schedule.jobs[-1]).state
        except JobNotFound:
            return None
        return schedule.jobs[-1] if state in ("active", "terminating") else None

    def _exists(self, job_id: str) -> bool:
        try:
            self.engine.job_record(job_id)
        except JobNotFound:
            return False
        return True

    def stop(self) -> None:
        """Stop the ticker. Idempotent."""
        with self.lock:
            ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.stop()


class JobScheduleOperations:
    """The ``BatchEngine`` job schedule methods (mixed into
    ``LocalBatchEngine``, which makes ``_schedules``, a :class:`JobSchedules`);
    documented on the interface."""

    _schedules: JobSchedules

    def create_job_schedule(self, schedule_id: str, config: ScheduleConfig,
                            template: JobTemplate, *, metadata: Mapping[str, str] | None = None,
                            extras: Extras | None = None) -> JobScheduleRecord:
        return self._schedules.create(schedule_id, config, template, metadata=metadata,
                                      extras=extras)

    def job_schedule_records(self) -> list[JobScheduleRecord]:
        return self._schedules.records()

    def job_schedule_record(self, schedule_id: str) -> JobScheduleRecord:
        return self._schedules.record(schedule_id)

    def update_job_schedule(self, schedule_id: str, *, config: ScheduleConfig | None = None,
                            template: JobTemplate | None = None,
                            metadata: Mapping[str, str] | None = None,
                            extras: Extras | None = None) -> JobScheduleRecord:
        return self._schedules.update(schedule_id, config=config, template=template,
                                      metadata=metadata, extras=extras)

    def disable_job_schedule(self, schedule_id: str) -> None:
        self._schedules.set_state(schedule_id, "disabled")

    def enable_job_schedule(self, schedule_id: str) -> None:
        self._schedules.set_state(schedule_id, "active")

    def terminate_job_schedule(self, schedule_id: str) -> None:
        self._schedules.terminate(schedule_id)

    def start_deleting_job_schedule(self, schedule_id: str) -> bool:
        return self._schedules.start_deleting(schedule_id)

