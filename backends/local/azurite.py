"""Azurite, the Azure Storage emulator, as the local backend's blob storage.

:class:`AzuriteServer` runs ``azurite-blob`` (pinned by the lock file in
``azurite_npm/``, installed by ``topwords local setup``) on a free loopback
port; :func:`storage_for` points
the Azure blob storage class at it, so the local backend exercises the same
storage code as Azure.
"""

from __future__ import annotations

import atexit
import base64
import collections
import functools
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from topwords.core.errors import ConfigError, StorageError, redact_url

from .azurite_npm import installed_binary

__all__ = ["AZURITE_ACCOUNT", "AZURITE_KEY", "AzuriteServer", "find_azurite_binary",
           "new_account_key", "storage_for", "wait_until_reachable"]

#: Azurite's built-in account and its well-known, public development key
#: (what an Azurite started by someone else, with default settings, takes;
#: the servers started here never accept it: see ``AzuriteServer``).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")



def new_account_key() -> str:
    """A random storage account key (64 bytes, base64, like Azure's)."""
    return base64.b64encode(secrets.token_bytes(64)).decode("ascii")


_SETUP_HINT = ("run `topwords local setup` (it installs the pinned Azurite with npm), "
               "or set TOPWORDS_AZURITE_BIN to an azurite-blob")
_READY = re.compile(r"successfully listens on (http://127\.0\.0\.1:(\d+))")


def find_azurite_binary(explicit: str | None = None) -> Path:
    """Locate ``azurite-blob``.

    Looks at, in order: ``explicit``, ``$TOPWORDS_AZURITE_BIN``, the pinned
    version's install in the user's cache (``topwords local setup``, see
    :mod:`.azurite_npm`), then ``PATH``.

    Raises:
        ConfigError: not found (or an explicit path that does not exist).
    """
    chosen = explicit or os.environ.get("TOPWORDS_AZURITE_BIN")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigError(f"azurite-blob not found at {path}", hint=_SETUP_HINT)
        return path
    pinned = installed_binary()
    if pinned is not None:
        return pinned
    found = shutil.which("azurite-blob")
    if found:
        return Path(found)
    raise ConfigError("azurite-blob (the Azure Storage emulator) is not installed",
                      hint=_SETUP_HINT)


class AzuriteServer:
    """One ``azurite-blob`` process on 127.0.0.1 and a free port.

    Its one account, ``devstoreaccount1``, takes ``account_key`` (by default
    a new random key per server, set through ``AZURITE_ACCOUNTS``), never the
    public development key: a task, or any other process on the machine,
    gets at the blobs only with a SAS it was given.

    Args:
        location: directory for Azurite's data; None keeps everything in
            memory (lost on stop).
        binary: the ``azurite-blob`` executable (default: :func:`find_azurite_binary`).
        silent: pass ``--silent`` (no access log; the access log would show
            SAS query strings).
        account_key: the account's key (default: random).

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, location: Path | None = None, *, binary: str | Path | None = None,
                 silent: bool = True, account_key: str | None = None) -> None:
        self.location = Path(location) if location is not None else None
        self.binary = Path(binary) if binary else None
        self.silent = silent
        self.account_key = account_key or new_account_key()
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=50)
        self._drainer: threading.Thread | None = None

    @property
    def blob_url(self) -> str:
        """``http://127.0.0.1:PORT/devstoreaccount1`` (the server must be started)."""
        if self.port is None:
            raise StorageError("Azurite is not running")
        return f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The argv :meth:`start` runs."""
        binary = self.binary or find_azurite_binary()
        argv = [str(binary), "--blobHost", "127.0.0.1", "--blobPort", "0",
                "--skipApiVersionCheck", "--disableTelemetry"]
        if self.location is None:
            argv.append("--inMemoryPersistence")
        else:
            argv += ["--location", str(self.location)]
        if self.silent:
            argv.append("--silent")
        return argv

    def start(self, timeout: float = 15.0) -> "AzuriteServer":
        """Launch Azurite and wait until it listens.

        Raises:
            ConfigError: azurite-blob is not installed.
            StorageError: it exited or did not listen within ``timeout``
                seconds (the message holds its last output lines).
        """
        if self.running:
            return self
        argv = watched(self.command())
        if self.location is not None:
            self.location.mkdir(parents=True, exist_ok=True)
        self._output.clear()
        try:
            # Own session: a Ctrl-C in the terminal must not reach Azurite
            # before we stop it cleanly. The watchdog stops it if we die.
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace",
                bufsize=1, start_new_session=True,
                env={**os.environ, "AZURITE_ACCOUNTS": f"{AZURITE_ACCOUNT}:{self.account_key}"})
        except OSError as exc:
            raise StorageError(f"cannot run {argv[0]}: {exc.strerror}", hint=_SETUP_HINT) from exc
        ready = threading.Event()
        self._drainer = threading.Thread(target=self._drain, args=(self._process.stdout, ready),
                                         name="azurite-output", daemon=True)
        self._drainer.start()
        atexit.register(self.stop)
        if not ready.wait(timeout) or self.port is None:
            exited = self._exited(grace=2.0 if ready.is_set() else 0.0)
            self.stop()
            reason = "exited" if exited else f"did not listen within {timeout:g} s"
            raise StorageError(f"Azurite {reason}; its last output:\n{self.output_tail()}",
                               hint=_SETUP_HINT)
        return self

    def _exited(self, grace: float) -> bool:
        """Whether Azurite has exited, allowing ``grace`` seconds for it to be
        reaped after its output closed."""
        try:
            self._process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _drain(self, stream: IO[str], ready: threading.Event) -> None:
        """Read Azurite's output until it closes, so the pipe never fills."""
        for line in stream:
            self._output.append(line.rstrip("\n"))
            if self.port is None:
                match = _READY.search(line)
                if match:
                    self.port = int(match.group(2))
                    ready.set()
        ready.set()  # EOF: the process is gone; start() sees port None

    def output_tail(self, lines: int = 20) -> str:
        """Azurite's last output lines, with query strings redacted."""
        return "\n".join(redact_url(line) for line in list(self._output)[-lines:])

    def death(self) -> str | None:
        """If the server died while it should be running: how (its exit
        status and last output line), else None."""
        process = self._process
        if process is None or process.poll() is None:
            return None
        last = self.output_tail(1) or "(no output)"
        return (f"Azurite (pid {process.pid}) exited with status {process.returncode}; "
                f"its last output: {last}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (through its watchdog, which passes it on once), wait up
        to ``timeout`` s, only then SIGKILL the group.

        Azurite flushes its data on SIGTERM; a SIGKILL right after a write
        loses writes it already acknowledged. Idempotent.
        """
        process, self._process = self._process, None
        if process is None:
            self.port = None
            return
        atexit.unregister(self.stop)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        if self._drainer is not None:
            self._drainer.join(timeout=2)
        if process.stdout is not None:
            process.stdout.close()
        self.port = None

    def __enter__(self) -> "AzuriteServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def storage(self):
        """Blob storage on this server with its account key (see :func:`storage_for`)."""
        return storage_for(self.blob_url, self.account_key)

    def __repr__(self) -> str:
        where = self.location or "memory"
        return f"AzuriteServer(port={self.port}, location={where})"


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    """Signal the process group :meth:`AzuriteServer.start` created (it also
    reaches a wrapper script's node child)."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


@functools.cache
def _watchdog_source() -> str:
    return resources.files(__package__).joinpath("azurite_watchdog.py").read_text("utf-8")


def watched(argv: list[str]) -> list[str]:
    """``argv`` run under the watchdog that stops it when this process dies."""
    from .lifeline import lifeline
    return [sys.executable, "-c", _watchdog_source(), str(lifeline().path), "--", *argv]


def storage_for(blob_url: str, account_key: str = AZURITE_KEY):
    """Blob storage (an ``AzureBlobStorage``) for the Azurite endpoint
    ``blob_url``: its ``devstoreaccount1`` account with ``account_key``
    (default: the public dev key of an Azurite started with defaults).

    The Azure SDK is imported here, not at module level, so that Azurite can
    start while the SDK loads.
    """
    from topwords.backends.azure.blob_storage import AzureBlobStorage, BlobStorageConfig

    return AzureBlobStorage(BlobStorageConfig(
        account_url=blob_url, account_name=AZURITE_ACCOUNT, account_key=account_key))


def wait_until_reachable(blob_url: str, timeout: float = 10.0) -> None:
    """Wait until something answers HTTP at ``blob_url``.

    A ``GET ?comp=list`` without credentials: Azurite answers 403, which is
    enough to know it is up.

    Raises:
        ConfigError: ``blob_url`` is not an http(s) URL.
        StorageError: nothing answered within ``timeout`` seconds.
    """
    if urlsplit(blob_url).scheme not in ("http", "https"):
        raise ConfigError(f"not an http(s) storage URL: {redact_url(blob_url)!r}")
    url = blob_url.rstrip("/") + "?comp=list"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=min(2.0, timeout)):
                return
        except urllib.error.HTTPError as exc:
            exc.close()
            return  # an HTTP answer (403) means it is up
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise StorageError(f"no storage service answers at {redact_url(blob_url)} "
                                   f"({getattr(exc, 'reason', exc)})",
                                   hint="start Azurite, or check the URL") from exc
        time.sleep(0.2)
