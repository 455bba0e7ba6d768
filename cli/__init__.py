"""The topwords command line (thin: it parses, calls core, prints).

When this package is imported by the program itself (the ``topwords``
script, ``python -m topwords.cli``), SIGINT and SIGTERM end the process at
once with exit 130 and one line, ``topwords: interrupted``: start-up
imports take a while and nothing exists yet that would need cleaning up.
``main()`` then hands both signals to the run's own handler
(``signals.interrupt_once``), which cleans up before exiting 130. Imported
as a library (tests, ``bench/``), the package installs no handler.

Only the builtin ``_signal`` module is used here: ``signal`` would import
``enum`` first and widen the window in which Python's own handler prints a
``KeyboardInterrupt`` traceback.
"""

import os
import sys

try:
    import _signal as _sig
except ImportError:  # not CPython
    import signal as _sig  # type: ignore[no-redef]


def _exit_interrupted(signum, frame):
    os.write(2, b"topwords: interrupted\n")
    os._exit(130)


def _started_as_program() -> bool:
    """True under ``topwords ...`` and ``python -m topwords.cli[.main] ...``.

    While ``-m`` locates its module (which imports this package), Python sets
    ``sys.argv[0]`` to ``"-m"``.
    """
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) in ("topwords", "topwords-script.py"):
        return True
    return argv0 == "-m" and any(a.endswith(("topwords.cli", "topwords.cli.main"))
                                 for a in getattr(sys, "orig_argv", ()))


#: whether this process is the topwords program (not a library user)
PROGRAM = _started_as_program()
if PROGRAM:
    for _signum in (_sig.SIGINT, _sig.SIGTERM):
        _sig.signal(_signum, _exit_interrupted)
