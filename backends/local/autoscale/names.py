"""The names the service defines: variables, aliases, constants, limits.

Sources and the choices made where they are silent:
/work/notes/autoscale-language.md.
"""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "ALIASES",
    "DEALLOCATION_OPTIONS",
    "DEFAULT_DEALLOCATION_OPTION",
    "DOCUMENTED_SAMPLE_DELAY",
    "MAX_FORMULA_LENGTH",
    "MAX_STATEMENTS",
    "PLAIN_READ_ONLY",
    "READ_ONLY",
    "READ_WRITE",
    "SAMPLE_PERIOD",
    "SAMPLED_READ_ONLY",
    "TARGET_DEDICATED",
    "TARGET_LOW_PRIORITY",
    "NODE_DEALLOCATION",
    "TICKS_PER_SECOND",
    "TIME_INTERVALS",
    "is_reserved",
]

TARGET_DEDICATED = "$TargetDedicatedNodes"
TARGET_LOW_PRIORITY = "$TargetLowPriorityNodes"
NODE_DEALLOCATION = "$NodeDeallocationOption"

#: Read-write service variables, in the order ``results`` lists them.
READ_WRITE = (TARGET_DEDICATED, TARGET_LOW_PRIORITY, NODE_DEALLOCATION)

#: Alias -> full name. A full name assigned by the formula wins over its alias.
ALIASES = {
    "$TargetDedicated": TARGET_DEDICATED,
    "$TargetLowPriority": TARGET_LOW_PRIORITY,
    "$CurrentDedicated": "$CurrentDedicatedNodes",
}

#: Read-only variables that read as a plain double (the docs use them so).
PLAIN_READ_ONLY = (
    "$CurrentDedicatedNodes",
    "$CurrentLowPriorityNodes",
    "$TaskSlotsPerNode",
)

#: Read-only metrics: sampled every 30 s, read through GetSample() & co.
SAMPLED_READ_ONLY = (
    "$CPUPercent",
    "$WallClockSeconds",
    "$MemoryBytes",
    "$DiskBytes",
    "$DiskReadBytes",
    "$DiskWriteBytes",
    "$DiskReadOps",
    "$DiskWriteOps",
    "$NetworkInBytes",
    "$NetworkOutBytes",
    "$SampleNodeCount",
    "$ActiveTasks",
    "$RunningTasks",
    "$PendingTasks",
    "$SucceededTasks",
    "$FailedTasks",
    "$PreemptedNodeCount",
)

READ_ONLY = PLAIN_READ_ONLY + SAMPLED_READ_ONLY

DEALLOCATION_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")
DEFAULT_DEALLOCATION_OPTION = "requeue"

TICKS_PER_SECOND = 10_000_000  # a tick is 100 ns, the smallest interval
_DAY = 86_400 * TICKS_PER_SECOND

#: The TimeInterval_* constants, in ticks. A "year" is 365 days (our choice).
TIME_INTERVALS = {
    "TimeInterval_Zero": 0,
    "TimeInterval_100ns": 1,
    "TimeInterval_Microsecond": 10,
    "TimeInterval_Millisecond": 10_000,
    "TimeInterval_Second": TICKS_PER_SECOND,
    "TimeInterval_Minute": 60 * TICKS_PER_SECOND,
    "TimeInterval_Hour": 3_600 * TICKS_PER_SECOND,
    "TimeInterval_Day": _DAY,
    "TimeInterval_Week": 7 * _DAY,
    "TimeInterval_Year": 365 * _DAY,
}

MAX_FORMULA_LENGTH = 8192
MAX_STATEMENTS = 100

#: The service takes a sample of every metric every 30 seconds.
SAMPLE_PERIOD = timedelta(seconds=30)
#: "It takes approximately one minute for samples to propagate" (the docs).
DOCUMENTED_SAMPLE_DELAY = timedelta(minutes=1)


def is_reserved(name: str) -> bool:
    """True if a formula may not assign ``name`` (constants, read-only)."""
    return (name in TIME_INTERVALS or name in DEALLOCATION_OPTIONS
            or name in READ_ONLY or ALIASES.get(name) in READ_ONLY)
