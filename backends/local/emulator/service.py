"""``BatchEmulator``: Azurite, the local engine and the Batch REST server,
started and stopped together.

    with BatchEmulator() as emulator:
        client = BatchClient(emulator.batch_url,
                             AzureNamedKeyCredential(emulator.account_name,
                                                     emulator.account_key))
        ...

Stopping deletes every pool that is left (so no node container outlives
it), stops Azurite (if it started one) and removes its node directories.
"""

from __future__ import annotations

import base64
import secrets
import shlex
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Iterator

from topwords.core.errors import ConfigError, PoolNotFound

__all__ = ["BatchEmulator", "DEFAULT_ACCOUNT"]

#: the Batch account name the emulator serves unless told otherwise
DEFAULT_ACCOUNT = "localbatch"


class BatchEmulator:
    """A Batch account on 127.0.0.1 whose nodes are Docker containers, with
    Azurite for storage.

    Args:
        host / port: where the Batch API listens (port 0: a free port).
        account_name / account_key: the Batch account; default key: a new
            random one per start.
        storage_url: an Azurite blob endpoint to use instead of starting one.
        storage_key: its account key (default: Azurite's public dev key).
        image: the node image (default: ``LocalConfig``'s, i.e.
            ``TOPWORDS_LOCAL_IMAGE`` or ``topwords-node:local``).
        work_dir: where node directories go (default: a temporary directory,
            removed on stop).
        page_size: the most items one list page holds (Batch: 1000).
        max_nodes: the most nodes one pool may have.
        delete_grace: seconds a pool or job DELETE may wait for it to be
            gone before answering 202 (0: answer at once, as Batch does).
        node_runtime: ``container`` (Docker; the default, or
            ``TOPWORDS_LOCAL_NODE_RUNTIME``) or ``process`` (no Docker, no
            isolation: see ``backends.local.runtime``).
        min_autoscale_interval: the shortest ``autoScaleEvaluationInterval``
            accepted, in seconds (default: the service's 300). An emulator
            setting only: Azure refuses less than 5 minutes.

    Attributes:
        clock: the time autoscale and job schedules run on;
            ``clock.advance(timedelta(minutes=5))`` makes five minutes pass
            for them at once (a test clock).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 account_name: str = DEFAULT_ACCOUNT, account_key: str | None = None,
                 storage_url: str | None = None, storage_key: str | None = None,
                 image: str | None = None,
                 work_dir: Path | None = None, page_size: int = 1000, max_nodes: int = 16,
                 delete_grace: float = 2.0, azurite_bin: str | None = None,
                 node_runtime: str | None = None,
                 min_autoscale_interval: float = 300.0) -> None:
        if page_size < 1 or max_nodes < 1:
            raise ConfigError("page_size and max_nodes must be at least 1")
        if not 0 <= min_autoscale_interval <= 300:
            raise ConfigError("min_autoscale_interval must be between 0 and 300 seconds")
        from topwords.backends.local.clock import Clock
        self.clock = Clock()
        self._min_autoscale_interval = min_autoscale_interval
        self.host, self.port = host, port
        self.account_name = account_name
        self.account_key = account_key or base64.b64encode(secrets.token_bytes(64)).decode()
        self._storage_url, self._image, self._work_dir = storage_url, image, work_dir
        self._storage_key = storage_key
        self._page_size, self._max_nodes, self._azurite_bin = page_size, max_nodes, azurite_bin
        self._delete_grace = delete_grace
        self._node_runtime = node_runtime
        self._azurite = self._server = self._engine = self._thread = None
        self._own_work_dir: Path | None = None

    # -- what clients need ---------------------------------------------------------

    @property
    def batch_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the emulator must be started)."""
        if self._server is None:
            raise ConfigError("the Batch emulator is not running")
        return self._server.url

    @property
    def storage_url(self) -> str:
        """The Azurite blob endpoint, ``http://127.0.0.1:PORT/devstoreaccount1``."""
        if self._azurite is not None:
            return self._azurite.blob_url
        if self._storage_url is None:
            raise ConfigError("the Batch emulator is not running")
        return self._storage_url

    @property
    def storage_account(self) -> str:
        from topwords.backends.local.azurite import AZURITE_ACCOUNT
        return AZURITE_ACCOUNT

    @property
    def storage_key(self) -> str:
        """The Azurite account key (a random one per start of its own Azurite)."""
        if self._azurite is not None:
            return self._azurite.account_key
        from topwords.backends.local.azurite import AZURITE_KEY
        return self._storage_key or AZURITE_KEY

    @property
    def engine(self):
        """The ``LocalBatchEngine`` behind the API (for tests and tools; the
        API itself uses it only as a ``BatchEngine``)."""
        return self._engine

    def environment(self) -> dict[str, str]:
        """The ``TOPWORDS_*`` variables the azure backend reads."""
        return {"TOPWORDS_BATCH_URL": self.batch_url,
                "TOPWORDS_BATCH_ACCOUNT": self.account_name,
                "TOPWORDS_BATCH_KEY": self.account_key,
                "TOPWORDS_STORAGE_URL": self.storage_url,
                "TOPWORDS_STORAGE_ACCOUNT": self.storage_account,
                "TOPWORDS_STORAGE_KEY": self.storage_key}

    def export_script(self) -> str:
        """``export NAME=value`` lines of :meth:`environment`, for a shell."""
        return "".join(f"export {name}={shlex.quote(value)}\n"
                       for name, value in self.environment().items())

    @contextmanager
    def recording(self, path: Path) -> Iterator[Path]:
        """Write every answer given inside the block to ``path``, one JSON
        line each (see ``recording``: operation, api-version, status,
        headers, JSON body, secrets redacted), for a test to check what a
        client received. Off outside the block."""
        from .recording import ResponseRecorder
        if self._server is None:
            raise ConfigError("the Batch emulator is not running")
        server, server.recorder = self._server, ResponseRecorder(path)
        try:
            yield Path(path)
        finally:
            server.recorder = None

    # -- lifetime --------------------------------------------------------------------

    def start(self) -> "BatchEmulator":
        """Start Azurite (unless ``storage_url`` was given), connect to
        Docker and listen. Idempotent.

        Raises:
            ConfigError: no Docker daemon, no node image, Azurite missing.
            StorageError: Azurite did not start.
            OSError: the port is taken.
        """
        if self._server is not None:
            return self
        from topwords.backends.local.azurite import AzuriteServer, find_azurite_binary

        if self._storage_url is None:
            self._azurite = AzuriteServer(binary=find_azurite_binary(self._azurite_bin))
        try:
            with ThreadPoolExecutor(1) as background:
                started = background.submit(self._azurite.start) if self._azurite else None
                self._start_batch()
                if started:
                    started.result()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_batch(self) -> None:
        from topwords.backends.local.config import LocalConfig
        from topwords.backends.local.engine import LocalBatchEngine
        from topwords.backends.local.leftovers import candidate_dirs, claim_dir, sweep
        from topwords.backends.local.runtime import make_runtime
        from topwords.core.errors import PoolError

        from .routing import Service
        from .server import BatchHttpServer

        config = LocalConfig.from_env()
        image = self._image or config.image
        runtime = make_runtime(self._node_runtime or config.node_runtime)
        sweep(runtime.client, dirs=candidate_dirs(config.work_dir))
        try:
            runtime.check_image(image)
        except PoolError as exc:
            runtime.close()
            raise ConfigError(str(exc), hint=exc.hint) from None
        if self._work_dir is None:
            self._own_work_dir = Path(tempfile.mkdtemp(prefix="topwords-emulator-"))
            claim_dir(self._own_work_dir)
        service = Service(engine=None, page_size=self._page_size,  # type: ignore[arg-type]
                          max_nodes=self._max_nodes, delete_grace=self._delete_grace)
        self._server = BatchHttpServer((self.host, self.port), service,
                                       {self.account_name: self.account_key})
        self._engine = service.engine = LocalBatchEngine(
            runtime=runtime, image=image, work_dir=self._work_dir or self._own_work_dir,
            account_name=self.account_name, account_url=self._server.url, clock=self.clock)
        self._engine.autoscaler.max_nodes = self._max_nodes
        self._engine.autoscaler.min_interval = timedelta(seconds=self._min_autoscale_interval)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,),
                                        name="batch-emulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening, delete every pool left (their containers go),
        stop Azurite if it was started here. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        engine, self._engine = self._engine, None
        if engine is not None:
            try:  # containers first: that ends every command, even on a hung node
                for record in engine.pool_records():
                    try:
                        engine.start_deleting_pool(record.info.spec.id)
                    except PoolNotFound:
                        pass  # gone meanwhile
                engine.wait_for_deletions(timeout=60.0)
            finally:
                engine.close()
        azurite, self._azurite = self._azurite, None
        if azurite is not None:
            azurite.stop()
        if self._own_work_dir is not None:
            shutil.rmtree(self._own_work_dir, ignore_errors=True)
            self._own_work_dir = None

    def __enter__(self) -> "BatchEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._server.url if self._server else "stopped"
        return f"BatchEmulator(account={self.account_name!r}, {where})"
