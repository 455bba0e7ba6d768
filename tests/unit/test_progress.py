"""The progress display: a live line on a terminal, throttled lines in logs."""

from __future__ import annotations

import io

from topwords.cli.progress import TerminalProgress
from topwords.core.model import TaskCounts


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_log_output_throttles_task_counts_but_always_shows_the_end():
    out = io.StringIO()
    progress = TerminalProgress(out)
    progress.stage("running 100 task(s)")
    for done in range(101):
        progress.tasks(TaskCounts(active=100 - done, completed=done, succeeded=done))
    lines = out.getvalue().splitlines()
    assert len(lines) <= 3
    assert lines[-1].endswith("100/100 done (0 waiting, 0 running)")


def test_terminal_output_redraws_one_line_and_ends_it():
    out = Tty()
    progress = TerminalProgress(out)
    progress.stage("running 2 task(s)")
    progress.tasks(TaskCounts(running=1, completed=1, succeeded=0, failed=1))
    progress.finish()
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 2 and text.endswith("\n")
    assert "1/2 done (0 waiting, 1 running, 1 failed)" in text


def test_quiet_prints_nothing_but_warnings():
    out = io.StringIO()
    progress = TerminalProgress(out, quiet=True)
    progress.stage("x")
    progress.tasks(TaskCounts(completed=1, succeeded=1))
    progress.warn("could not delete pool p")
    assert out.getvalue() == "warning: could not delete pool p\n"


def test_stage_and_warning_with_control_characters_are_escaped():
    stream = io.StringIO()
    progress = TerminalProgress(stream)
    progress.stage("downloading results to out\x1b[2J")
    progress.warn("could not delete container c\x07")
    assert "\x1b" not in stream.getvalue() and "\x07" not in stream.getvalue()
    assert "out\\x1b[2J" in stream.getvalue() and "c\\x07" in stream.getvalue()
