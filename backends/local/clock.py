"""The time that autoscale evaluations and job schedules run on.

A :class:`Clock` is the wall clock plus an offset that only grows:
:meth:`Clock.advance` moves it forward at once (a *test clock*), so a test
can see a 5-minute autoscale interval pass, or a daily job schedule fire,
without waiting. Whatever waits on the clock (:class:`Ticker`) wakes when it
is advanced. Only autoscale and job schedules read it; task and job
timestamps stay on the wall clock.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Callable

__all__ = ["Clock", "Ticker"]


class Clock:
    """The wall clock, plus what :meth:`advance` added. Thread-safe."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._changed = threading.Condition()

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        with self._changed:
            return datetime.now(timezone.utc) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and wake what waits on it.

        Returns:
            The new time.
        Raises:
            ValueError: ``delta`` is negative (time does not go back).
        """
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._changed:
            self._offset += delta
            self._changed.notify_all()
        return self.now()

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait up to ``seconds`` of real time, less if the clock is advanced
        or ``stop`` is set (checked before waiting)."""
        with self._changed:
            if not stop.is_set():
                self._changed.wait(seconds)

    def wake(self) -> None:
        """Wake whatever sleeps on the clock (to stop it, or to look again)."""
        with self._changed:
            self._changed.notify_all()


class Ticker:
    """Calls ``tick()`` in a daemon thread every ``period`` seconds of real
    time and whenever the clock is advanced, until :meth:`stop`. A ``tick``
    that raises is reported to ``on_error`` and the ticker goes on."""

    def __init__(self, clock: Clock, tick: Callable[[], None], *, period: float = 0.25,
                 name: str = "ticker", on_error: Callable[[BaseException], None] = lambda e: None
                 ) -> None:
        self.clock, self._tick, self._period, self._on_error = clock, tick, period, on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as exc:  # noqa: BLE001  (a bug must not stop autoscale)
                self._on_error(exc)
            self.clock.sleep(self._period, self._stop)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop ticking and wait for a running tick to end. Idempotent."""
        self._stop.set()
        self.clock.wake()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
