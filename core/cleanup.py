"""Deleting what earlier runs left behind, as the run ledger lists it."""

from __future__ import annotations

from typing import Callable

from .backend import Backend
from .errors import TopwordsError
from .ledger import KINDS, Ledger

__all__ = ["delete_outstanding"]


def delete_outstanding(backend: Backend, ledger: Ledger, say: Callable[[str], None], *,
                       dry_run: bool = False) -> int:
    """Delete the ledger's outstanding jobs, pools and containers (in that
    order) that live in ``backend``'s endpoint.

    Returns:
        How many could not be deleted (0 on a dry run).
    """
    mine, others = [], 0
    for entry in ledger.outstanding(backend.name):
        here = backend.storage_endpoint if entry.kind == "container" else backend.endpoint
        if entry.endpoint == here:
            mine.append(entry)
            continue
        reason = backend.gone(entry.endpoint)
        if reason is None:
            others += 1
        elif dry_run:
            say(f"{entry.kind} {entry.id} (run {entry.run_id}) is gone: {reason}")
        else:
            ledger.deleted(entry)
            say(f"{entry.kind} {entry.id} (run {entry.run_id}) is gone: {reason}")
    if others:
        say(f"({others} left over in other accounts/endpoints of the {backend.name} "
            "backend are not touched: configure that account to delete them)")
    delete = {"job": backend.compute.delete_job, "pool": backend.compute.delete_pool,
              "container": backend.storage.delete_container}
    failed = 0
    for entry in sorted(mine, key=lambda e: KINDS.index(e.kind)):
        what = f"{entry.kind} {entry.id} (run {entry.run_id}, created {entry.time})"
        if dry_run:
            say(f"would delete {what}")
            continue
        try:
            delete[entry.kind](entry.id)
        except TopwordsError as exc:
            failed += 1
            say(f"could not delete {what}: {exc}")
            continue
        ledger.deleted(entry)
        say(f"deleted {what}")
    return failed
