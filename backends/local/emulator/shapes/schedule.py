"""Job schedules in Batch JSON: the ``schedule`` object and a schedule's
response body (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from topwords.backends.local.records import ScheduleConfig

from ..errors import bad_value
from .wire import etag, format_duration, format_time, parse_duration

__all__ = ["config_json", "schedule_config", "schedule_json"]

Json = dict[str, Any]

#: the shortest startWindow and recurrenceInterval the service accepts
MIN_INTERVAL = timedelta(minutes=1)


def config_json(config: ScheduleConfig) -> Json:
    """A schedule's ``schedule`` object (what was given of it)."""
    body: Json = {}
    if config.do_not_run_until:
        body["doNotRunUntil"] = format_time(config.do_not_run_until)
    if config.do_not_run_after:
        body["doNotRunAfter"] = format_time(config.do_not_run_after)
    if config.start_window:
        body["startWindow"] = format_duration(config.start_window.total_seconds())
    if config.recurrence:
        body["recurrenceInterval"] = format_duration(config.recurrence.total_seconds())
    return body


def schedule_config(body: Any) -> ScheduleConfig:
    """The ``schedule`` object of a create, replace or patch body.

    Raises:
        BatchApiError: 400 for a bad time or an interval under 1 minute.
    """
    if body is None:
        return ScheduleConfig()
    if not isinstance(body, dict):
        raise bad_value("schedule", "must be an object")
    return ScheduleConfig(
        do_not_run_until=_time(body, "doNotRunUntil"),
        do_not_run_after=_time(body, "doNotRunAfter"),
        start_window=_interval(body, "startWindow"),
        recurrence=_interval(body, "recurrenceInterval"))


def _time(body: Json, name: str) -> datetime | None:
    text = body.get(name)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        raise bad_value(f"schedule.{name}", "not an ISO 8601 time", text) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _interval(body: Json, name: str) -> timedelta | None:
    text = body.get(name)
    if text is None:
        return None
    seconds = parse_duration(text, f"schedule.{name}")
    if seconds is None:
        return None  # "unlimited"
    if seconds < MIN_INTERVAL.total_seconds():
        raise bad_value(f"schedule.{name}", "the minimum value is 1 minute", text)
    return timedelta(seconds=seconds)


def schedule_json(record, url: str, job_url) -> Json:
    """A job schedule (a ``records.JobScheduleRecord``, its ``displayName``
    and ``jobSpecification`` in its extras) as GET /jobschedules/{id}
    answers it (``job_url``: job id -> its URL)."""
    changed = format_time(record.modified)
    body: Json = {
        "id": record.id, "url": url, "eTag": etag(record.modified), "lastModified": changed,
        "creationTime": format_time(record.created), "state": record.state,
        "stateTransitionTime": format_time(record.state_changed),
        "schedule": config_json(record.config),
        "jobSpecification": record.extras.get("jobSpecification", {}),
        "metadata": [{"name": k, "value": v} for k, v in record.metadata.items()],
    }
    if record.extras.get("displayName"):
        body["displayName"] = record.extras["displayName"]
    if record.previous_state:
        body["previousState"] = record.previous_state
        body["previousStateTransitionTime"] = format_time(record.previous_state_changed)
    execution: Json = {}
    if record.next_run and record.state in ("active", "disabled"):
        execution["nextRunTime"] = format_time(record.next_run)
    if record.recent_job:
        execution["recentJob"] = {"id": record.recent_job, "url": job_url(record.recent_job)}
    if record.end_time:
        execution["endTime"] = format_time(record.end_time)
    body["executionInfo"] = execution
    return body
