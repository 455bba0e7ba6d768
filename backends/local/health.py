"""Heartbeats: the engine's watch over its nodes, as Batch watches its VMs.

One thread pings every node that should be answering (its agent, or, for a
node without one, Docker's view of its container) every
``interval`` seconds:

* a node that answers is ``idle``/``running`` again if it was ``unknown``;
* a node that is gone (its container removed or killed: the agent's socket
  refuses) is lost at once;
* a node that stops answering (hung, or paused) becomes ``unknown`` after
  ``unknown_after`` seconds of silence and is lost after ``unusable_after``.

A lost node is reported to the engine (``on_lost``), which marks it
``unusable``, requeues its tasks onto healthy nodes and recovers it.
Defaults: 1 s, 5 s, 20 s (a node paused for 10 s and resumed carries on).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, Iterable

from topwords.core.errors import NodeError
from topwords.core.model import NodeState

__all__ = ["Heartbeat", "HeartbeatSettings"]

_WATCHED = (NodeState.IDLE, NodeState.RUNNING, NodeState.UNKNOWN)
log = logging.getLogger("topwords.local")


@dataclass(frozen=True)
class HeartbeatSettings:
    """Seconds between pings; of silence before ``unknown``; before lost."""

    interval: float = 1.0
    unknown_after: float = 5.0
    unusable_after: float = 20.0


class Heartbeat:
    """Pings nodes in the background until :meth:`stop`.

    Args:
        lock: the engine's lock (node states change under it).
        nodes: called under the lock: the ``(pool, node)`` pairs to watch.
        on_lost: called (not under the lock) with ``(pool, node, reason)``
            once per loss.
        settings: the intervals.
    """

    def __init__(self, lock: threading.Condition, nodes: Callable[[], Iterable[tuple]],
                 on_lost: Callable[[object, object, str], None],
                 settings: HeartbeatSettings = HeartbeatSettings()) -> None:
        self._lock, self._nodes, self._on_lost, self.settings = lock, nodes, on_lost, settings
        self._stop = threading.Event()
        self._pings = ThreadPoolExecutor(8, thread_name_prefix="heartbeat-ping")
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pings.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.interval):
            try:
                self._round()
            except RuntimeError:  # the pings' pool was shut down: stopping
                return
            except Exception:  # noqa: BLE001 (the watch must outlive any one bug)
                log.exception("heartbeat round failed")

    def _round(self) -> None:
        with self._lock:
            watched = [(p, n) for p, n in self._nodes() if n.state in _WATCHED]
        if not watched:
            return
        futures = {self._pings.submit(self._ping, n): (p, n) for p, n in watched}
        wait(futures, timeout=self.settings.interval * 3)
        for future, (pool, node) in futures.items():
            if self._stop.is_set():
                return
            self._judge(pool, node, future.result() if future.done() else "silent")

    def _ping(self, node) -> str | None:
        """None if the node answered, "silent" on a timeout, else why it is gone."""
        try:
            node.handle.ping(timeout=min(2.0, self.settings.interval * 2))
        except NodeError as exc:
            text = str(exc)
            return "silent" if "timed out" in text or "paused" in text else text
        return None

    def _judge(self, pool, node, problem: str | None) -> None:
        now = time.monotonic()
        lost = None
        with self._lock:
            if node.state not in _WATCHED:
                return
            if problem is None:
                node.last_seen = now
                if node.state is NodeState.UNKNOWN:
                    node.state = NodeState.RUNNING if node.running else NodeState.IDLE
                return
            silence = now - node.last_seen
            if problem != "silent":
                lost = f"its agent is gone ({problem})"
            elif silence >= self.settings.unusable_after:
                lost = f"it did not answer for {silence:.0f} s"
            elif silence >= self.settings.unknown_after:
                node.state = NodeState.UNKNOWN
        if lost:
            self._on_lost(pool, node, lost)
