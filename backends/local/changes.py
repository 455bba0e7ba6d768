"""When a resource last changed: :class:`Tracked` stamps ``modified`` on
every assignment of a new value to one of its tracked attributes, so the
records the engine hands out carry a last-modified time (Batch's
``Last-Modified`` and, from it, its ``ETag``) that follows every change of
the resource, not only its creation.

Stamps are strictly increasing in a process (two changes in the same
microsecond get different times), so an ETag made from one always changes.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

__all__ = ["Tracked", "stamp"]

_lock = threading.Lock()
_last = datetime.min.replace(tzinfo=timezone.utc)
_MISSING = object()


def stamp() -> datetime:
    """Now (UTC), later than every stamp given before."""
    global _last
    with _lock:
        now = datetime.now(timezone.utc)
        _last = now if now > _last else _last + timedelta(microseconds=1)
        return _last


class Tracked:
    """Mixin: assigning a new value to an attribute named in ``TRACKED``
    (one that differs from the current value) sets ``modified`` to
    :func:`stamp`; so does the first tracked assignment. Values are
    replaced, not changed in place (a new dict for ``extras``), for the
    stamp to follow."""

    TRACKED: frozenset[str] = frozenset()
    modified: datetime

    def __setattr__(self, name: str, value: object) -> None:
        if name in self.TRACKED:
            old = self.__dict__.get(name, _MISSING)
            if old is _MISSING or old is not value and old != value \
                    or "modified" not in self.__dict__:
                object.__setattr__(self, "modified", stamp())
        object.__setattr__(self, name, value)
