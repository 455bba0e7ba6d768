"""Batch JSON <-> the core model: pure functions, no I/O.

``parse``: request bodies -> core specs (+ the echo of what the engine does
not act on, kept as the record's ``extras``); ``render``: the engine's records -> response bodies; ``wire``:
times, durations and ETags.
"""

from __future__ import annotations

from .exits import exit_conditions
from .parse import (
    integer_value, job_spec, metadata_pairs, pool_spec, require_object, start_task_spec,
    task_spec,
)
from .render import (
    file_json, file_mode, job_json, node_json, pool_json, start_task_json, task_counts_json,
    task_json,
)
from .wire import (
    MAX_DURATION, etag, format_duration, format_time, http_date, parse_duration, stamps,
)

__all__ = [
    "MAX_DURATION", "etag", "exit_conditions", "file_json", "file_mode", "format_duration", "format_time",
    "http_date", "integer_value", "job_json", "job_spec", "metadata_pairs", "node_json",
    "parse_duration", "stamps", "pool_json", "pool_spec", "require_object", "start_task_json",
    "start_task_spec", "task_counts_json",
    "task_json", "task_spec",
]
