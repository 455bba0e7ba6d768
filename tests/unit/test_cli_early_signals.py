"""SIGINT/SIGTERM at any moment from the program's first line on: exit 130,
one line, no traceback, nothing left.

The clock starts when ``topwords.cli`` has been imported (seen through
``PYTHONPROFILEIMPORTTIME``), that is when the program's own code first
runs; the signal then lands in the start-up imports (about 100-300 ms
here) or, on a fast machine, in argument parsing or the backend's start.
(Before that, the interpreter is still starting: see README, "Exit
status".) Signals later in a run are tests/e2e's. The backend's services
are fakes in this process, so no Docker or Azurite is needed: a Docker
socket that never answers (a run that gets that far blocks there) and an
"Azurite" that answers 403 at once.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from topwords.core.ledger import Ledger

DELAYS_MS = [0, 10, 20, 50, 100]
SCRIPT = Path(sys.executable).with_name("topwords")
OUR_PACKAGE_IMPORTED = re.compile(r"^import time:.*\|\s*topwords\.cli$")


class _Forbidden(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """DOCKER_HOST and a blob URL for the run to block on, harmlessly."""
    folder = tmp_path_factory.mktemp("svc")
    docker = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    docker.bind(str(folder / "docker.sock"))
    docker.listen(128)  # connections wait in the backlog, never answered
    azurite = ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    threading.Thread(target=azurite.serve_forever, daemon=True).start()
    yield {"DOCKER_HOST": f"unix://{folder / 'docker.sock'}",
           "url": f"http://127.0.0.1:{azurite.server_address[1]}/devstoreaccount1"}
    azurite.shutdown()
    docker.close()


def interrupt(command: list[str], sig: signal.Signals, delay_ms: int, tmp_path: Path,
              services: dict) -> tuple[int, list[str], Path]:
    """Start ``command run ...``, signal it ``delay_ms`` after our package is
    imported; return its exit code, its stderr lines (without the import
    timings) and its ledger."""
    text = tmp_path / "in.txt"
    text.write_text("some words\n", encoding="utf-8")
    ledger = tmp_path / f"ledger-{sig.name}-{delay_ms}.jsonl"
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "DOCKER_HOST": services["DOCKER_HOST"],
           "TOPWORDS_LEDGER": str(ledger), "TOPWORDS_LOCAL_WORK_DIR": str(tmp_path / "nodes"),
           "TOPWORDS_LOCAL_STORAGE_KEY": "a2V5"}
    proc = subprocess.Popen(
        [*command, "run", str(text), "--quiet", "--output-dir", str(tmp_path / "out"),
         "--azurite-url", services["url"]],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if OUR_PACKAGE_IMPORTED.match(line.rstrip()):
            break
    time.sleep(delay_ms / 1000)
    assert proc.poll() is None, "".join(seen)  # still running: the signal lands in it
    proc.send_signal(sig)
    sent = time.monotonic()
    try:
        _, rest = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, rest = proc.communicate()
        raise AssertionError(f"still running 10 s after the signal: {''.join(seen)}{rest}"
                             [-3000:]) from None
    code = proc.returncode
    assert time.monotonic() - sent < 3, "took too long to stop"
    lines = [ln for ln in ("".join(seen) + rest).splitlines()
             if ln.strip() and not ln.startswith("import time:")]
    return code, lines, ledger


def entry_points() -> list:
    return [pytest.param([sys.executable, "-m", "topwords.cli"], id="python-m"),
            pytest.param([str(SCRIPT)], id="console-script",
                         marks=pytest.mark.skipif(not SCRIPT.exists(),
                                                  reason=f"no {SCRIPT} (not installed)"))]


@pytest.mark.parametrize("command", entry_points())
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_at_any_moment_of_start_up_exits_130_with_one_line(tmp_path, services, command,
                                                                 sig):
    for delay in DELAYS_MS:
        code, lines, ledger = interrupt(command, sig, delay, tmp_path, services)
        assert code == 130, (delay, lines)
        assert not any("Traceback" in ln or "Error" in ln for ln in lines), (delay, lines)
        assert lines[-1].startswith("topwords: interrupted"), (delay, lines)
        assert Ledger(ledger).outstanding() == []


DRIVER = """
import sys
import topwords.cli
from topwords.cli import main as cli

topwords.cli.PROGRAM = True  # as under `python -m topwords.cli`


def interrupted(args):
    exec("raise KeyboardInterrupt")  # as when it lands in a dataclass being built


cli._run = interrupted
sys.exit(cli.main(["run", "x"]))
"""


def test_interrupt_through_exec_of_source_still_exits_130_under_python_m(tmp_path):
    """CPython re-sends SIGINT at exit after such an interrupt (exit -2)
    unless the program blocks it once it has handled the interrupt."""
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "driver"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines()[-1].startswith("topwords: interrupted")
