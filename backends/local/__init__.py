"""The local backend: Batch semantics in Docker containers, staging in Azurite.

Nodes are long-lived Docker containers (host networking) that run tasks with
``docker exec``; blobs and SAS URLs are Azurite's, through the same
``AzureBlobStorage`` class the Azure backend uses. See ``engine`` for how
Batch concepts map onto Docker.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

__all__ = ["create"]


def create(**options: object):
    """Build the local backend (the registry calls this).

    Options (each also from the environment, see ``LocalConfig``): ``image``,
    ``storage_url`` and ``storage_key`` (reuse a running Azurite),
    ``work_dir``, ``azurite_bin``.

    Starts a private Azurite unless ``storage_url`` is given; it is stopped
    (SIGTERM) when the backend is closed.

    Raises:
        ConfigError: no Docker daemon answers, Azurite is missing, bad options.
        StorageError: Azurite did not start or does not answer.
    """
    from .azurite import AzuriteServer, find_azurite_binary, wait_until_reachable
    from .config import LocalConfig

    config = LocalConfig.from_env(**options)
    server = None
    if config.storage_url is None:
        server = AzuriteServer(binary=find_azurite_binary(config.azurite_bin))
    # The worker resolves a host name, whose first use imports the idna codec:
    # imported here, it cannot be in the middle of an import the main thread
    # holds when a Ctrl-C lands there (seen: the worker then waits forever on
    # that module's lock and the run never exits).
    import encodings.idna  # noqa: F401
    with ThreadPoolExecutor(1) as background:  # Azurite boots while the SDKs load
        started = background.submit(server.start if server else
                                    lambda: wait_until_reachable(config.storage_url, 5.0))
        try:
            engine = _engine(config)
            started.result()
        except BaseException:
            if server:
                wait([started])
                server.stop()
            raise
    return _backend(config, engine, server)


def _engine(config):
    """Make the node runtime (containers: connect to Docker), sweep what dead
    owners left, and load the blob SDK (slow) meanwhile Azurite starts."""
    import topwords.backends.azure.blob_storage  # noqa: F401  (warm import)

    from .engine import LocalBatchEngine
    from .leftovers import candidate_dirs, sweep
    from .runtime import make_runtime

    runtime = make_runtime(config.node_runtime)
    sweep(runtime.client, dirs=candidate_dirs(config.work_dir))
    return LocalBatchEngine(runtime=runtime, image=config.image, work_dir=config.work_dir)


#: the ledger endpoint of a run's private Azurite (its owner's lifeline follows)
PRIVATE = "azurite-private:"


def _gone(endpoint: str) -> str | None:
    """Containers of a private Azurite are gone once its run has ended."""
    from .lifeline import is_alive
    if endpoint.startswith(PRIVATE) and not is_alive(endpoint[len(PRIVATE):]):
        return "it was in its run's private Azurite, which ended with the run"
    return None


def _backend(config, engine, server):
    from topwords.core.backend import Backend

    from .azurite import AZURITE_KEY, storage_for

    from .lifeline import lifeline

    url = server.blob_url if server else config.storage_url
    key = server.account_key if server else (config.storage_key or AZURITE_KEY)
    storage_endpoint = f"{PRIVATE}{lifeline().path}" if server else f"azurite:{url}"
    nodes = (f"Docker nodes from image {config.image}" if config.node_runtime == "container"
             else "nodes as plain processes (no isolation)")
    backend = Backend(name="local", storage=storage_for(url, key), compute=engine,
                      describe=f"{nodes}, Azurite at {url}",
                      endpoint="local", storage_endpoint=storage_endpoint,
                      storage_death=server.death if server else None, gone=_gone)
    if server:
        backend.on_close(server.stop)
    return backend
