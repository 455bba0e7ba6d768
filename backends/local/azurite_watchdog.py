"""Runs Azurite so that it dies with the process that started it.

    python3 -c <this source> LIFELINE -- azurite-blob ARGS...

It starts ``azurite-blob ARGS`` (its output goes where this process's goes)
and waits on the owner's lifeline file (see ``lifeline.py``): when the
lock is released, the owner is gone (even killed with SIGKILL), and the
watchdog stops Azurite (SIGTERM, then SIGKILL after 10 s) and exits. It
exits with Azurite's exit status when Azurite ends first; SIGTERM/SIGINT are
passed on to Azurite. Standard library only.
"""

import fcntl
import os
import signal
import subprocess
import sys
import threading

GRACE = 10.0


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for_owner(lifeline, proc):
    try:
        fd = os.open(lifeline, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_SH)  # returns once the owner's lock is gone
    except OSError:
        pass  # no lifeline to wait on: the owner is gone already
    stop(proc)


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: watchdog LIFELINE -- COMMAND...")
    lifeline, argv = sys.argv[1], sys.argv[3:]
    proc = subprocess.Popen(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda s, f: proc.poll() is None and proc.send_signal(s))
    threading.Thread(target=wait_for_owner, args=(lifeline, proc), daemon=True).start()
    code = proc.wait()
    sys.exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()
