"""The topwords pytest plugin: a local Azure Batch account for your tests.

pytest loads it by itself once topwords is installed (entry point
``pytest11``, name ``topwords``; ``-p no:topwords`` turns it off): no
``conftest.py`` needed::

    def test_an_ubuntu_image_is_offered(batch_client):
        skus = [image.node_agent_sku_id for image in batch_client.list_supported_images()]
        assert any(sku.startswith("batch.node.ubuntu") for sku in skus)

Fixtures (nothing is imported or started until a test asks for one):

- ``batch_emulator`` (session): a started ``BatchEmulator`` (Docker nodes and
  its own Azurite); every pool left is deleted at the end;
- ``batch_client`` (session): an azure-batch 15 ``BatchClient`` on it;
- ``blob_service_client`` (session): an azure-storage-blob
  ``BlobServiceClient`` on its Azurite;
- ``batch_unique_id`` (per test): ``batch_unique_id("pool")`` gives an id
  no other test uses (``pool-1a2b3c4d5e6f``), valid for pools, jobs, tasks
  and blob containers.

Session scope is one emulator per pytest process: under pytest-xdist each
worker starts its own (its own ports, Azurite and containers), so workers
share nothing. Option ``--topwords-node-runtime`` (ini
``topwords_node_runtime``) says how nodes run: ``container`` (Docker, the
default; ``docker`` is another name for it) or ``process`` (host processes,
no Docker needed; less isolated, see the README's "Node runtimes").
"""

from __future__ import annotations

import re
import uuid

import pytest

__all__ = ["batch_client", "batch_emulator", "batch_unique_id", "blob_service_client"]

#: how the emulator's nodes can run (``topwords.backends.local.runtime.RUNTIMES``,
#: which this light module does not import) and the other names they go by
NODE_RUNTIMES = ("container", "process")
_ALIASES = {"docker": "container"}
_PREFIX = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("topwords", "topwords Batch emulator")
    group.addoption("--topwords-node-runtime", metavar="NAME", default=None,
                    help=f"how the emulator's nodes run: {', '.join(NODE_RUNTIMES)} "
                         "(default: the ini value topwords_node_runtime, else container)")
    parser.addini("topwords_node_runtime", default="container",
                  help="how the topwords Batch emulator's nodes run (container or process)")


def pytest_configure(config: pytest.Config) -> None:
    node_runtime(config)  # a bad value is a usage error before any test runs


def node_runtime(config: pytest.Config) -> str:
    """The chosen node runtime, by its engine name (the option wins over
    the ini value; ``docker`` means ``container``).

    Raises:
        pytest.UsageError: not one of :data:`NODE_RUNTIMES` or their aliases.
    """
    value = config.getoption("topwords_node_runtime") or config.getini("topwords_node_runtime")
    value = _ALIASES.get(value, value)
    if value not in NODE_RUNTIMES:
        raise pytest.UsageError(f"--topwords-node-runtime/topwords_node_runtime: unknown node "
                                f"runtime {value!r} (choose from {', '.join(NODE_RUNTIMES)})")
    return value


def emulator_options(config: pytest.Config) -> dict[str, object]:
    """Keyword arguments of the session's ``BatchEmulator``."""
    return {"node_runtime": node_runtime(config)}


def _problem(what: str, exc: BaseException) -> str:
    """One line (plus the hint of a topwords error) for ``pytest.fail``."""
    hint = getattr(exc, "hint", None)
    return f"{what}: {exc}" + (f"\n  hint: {hint}" if hint else "")


def _fail(problem: str | None) -> None:
    """Fail the test outside the ``except`` block (no chained traceback)."""
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def batch_emulator(pytestconfig: pytest.Config):
    """A started ``BatchEmulator`` for the session (per xdist worker),
    stopped at the end: every pool left is deleted, its Azurite stopped."""
    from topwords.core.errors import TopwordsError

    from .service import BatchEmulator

    emulator, problem = BatchEmulator(**emulator_options(pytestconfig)), None
    try:
        emulator.start()
    except ImportError as exc:
        problem = _problem("the Batch emulator needs the docker SDK (pip install "
                           "'topwords[local,azure]')", exc)
    except (TopwordsError, OSError) as exc:
        problem = _problem("the Batch emulator cannot start", exc)
    _fail(problem)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def batch_client(batch_emulator):
    """An azure-batch 15 ``BatchClient`` on the session's emulator."""
    problem = None
    try:
        from azure.batch import BatchClient
        from azure.core.credentials import AzureNamedKeyCredential
    except ImportError as exc:
        problem = _problem("batch_client needs azure-batch (pip install "
                           "'topwords[local,azure]')", exc)
    _fail(problem)
    client = BatchClient(batch_emulator.batch_url, AzureNamedKeyCredential(
        batch_emulator.account_name, batch_emulator.account_key))
    yield client
    client.close()


@pytest.fixture(scope="session")
def blob_service_client(batch_emulator):
    """An azure-storage-blob ``BlobServiceClient`` on the emulator's Azurite
    (the account the emulator's tasks reach with SAS URLs)."""
    problem = None
    try:
        from azure.storage.blob import BlobServiceClient
    except ImportError as exc:
        problem = _problem("blob_service_client needs azure-storage-blob (pip install "
                           "'topwords[local,azure]')", exc)
    _fail(problem)
    client = BlobServiceClient(batch_emulator.storage_url, credential={
        "account_name": batch_emulator.storage_account,
        "account_key": batch_emulator.storage_key})
    yield client
    client.close()


@pytest.fixture
def batch_unique_id():
    """A factory of ids no other test, worker or run uses:
    ``batch_unique_id("job")`` -> ``job-1a2b3c4d5e6f``.

    The prefix (default ``id``) is 1-40 lowercase letters, digits and
    hyphens, so every id is valid for a pool, job, task or blob container.
    """
    def make(prefix: str = "id") -> str:
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise ValueError(f"batch_unique_id prefix must be 1-40 lowercase letters, digits "
                             f"and hyphens, starting with a letter or digit: {prefix!r}")
        return f"{prefix}-{uuid.uuid4().hex[:12]}"
    return make
