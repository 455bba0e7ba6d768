"""The shared test rig: services (Azurite) and a ``storage`` fixture over
every storage backend.

Services that cannot be found or started skip their tests on a developer
machine, and fail them when ``CI`` is set or ``TOPWORDS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import uuid
from typing import Callable, Iterator

import pytest
from hypothesis import settings

from topwords.core.errors import TopwordsError

# These machines are noisy (2 shared cores): a property test's example may
# take longer than hypothesis's 200 ms deadline for reasons of its own.
settings.register_profile("topwords", deadline=None)
settings.load_profile("topwords")
from topwords.core.storage import Storage


def services_required() -> bool:
    """True when a missing service must fail tests instead of skipping them."""
    return bool(os.environ.get("CI")) or os.environ.get("TOPWORDS_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> None:
    """Fail (CI) or skip (developer machine) the requesting test."""
    if services_required():
        pytest.fail(f"{reason} (services are required here)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def azurite():
    """One in-memory Azurite for the whole session (an ``AzuriteServer``)."""
    try:
        from topwords.backends.local.azurite import AzuriteServer
        server = AzuriteServer().start()
    except (ImportError, TopwordsError) as exc:
        service_unavailable(f"Azurite is not available: {exc}")
    yield server
    server.stop()


# -- storage over every backend -------------------------------------------

def _local_storage(request: pytest.FixtureRequest) -> Storage:
    return request.getfixturevalue("azurite").storage()


def _azure_storage(request: pytest.FixtureRequest) -> Storage:
    """The azure backend's storage, from AzureConfig, on the emulator's Azurite."""
    from topwords.backends.azure.blob_storage import AzureBlobStorage
    return AzureBlobStorage(emulator_azure_config(request).storage_config())


#: backend name -> factory of a session-wide Storage. A factory may call
#: service_unavailable(); each backend's params carry the marks of the
#: services it needs.
STORAGE_FACTORIES: dict[str, Callable[[pytest.FixtureRequest], Storage]] = {
    "azure": _azure_storage,
    "local": _local_storage,
}
STORAGE_BACKENDS = [
    pytest.param("azure", marks=[pytest.mark.docker, pytest.mark.azurite]),
    pytest.param("local", marks=pytest.mark.azurite),
]


@pytest.fixture(scope="session", params=STORAGE_BACKENDS)
def session_storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    storage = STORAGE_FACTORIES[request.param](request)
    yield storage
    storage.close()


@pytest.fixture
def created_containers() -> list[str]:
    """Names handed out by ``unique_name`` in this test (deleted afterwards)."""
    return []


@pytest.fixture
def unique_name(created_containers: list[str]) -> Callable[..., str]:
    """A factory of container names no other test (or test run) uses.

    Every name it returns is deleted after the test by ``storage``.
    """
    def make(prefix: str = "ct") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        created_containers.append(name)
        return name
    return make


@pytest.fixture
def storage(session_storage: Storage, created_containers: list[str]) -> Iterator[Storage]:
    """A ``Storage`` of each backend; containers named by ``unique_name``
    are deleted after the test."""
    yield session_storage
    for name in created_containers:
        session_storage.delete_container(name)


@pytest.fixture
def container(storage: Storage, unique_name: Callable[..., str]) -> str:
    """A fresh, empty container (deleted after the test)."""
    name = unique_name()
    storage.create_container(name)
    return name


# -- compute over every backend -------------------------------------------

def _id_factory():
    def make(prefix: str = "id") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"
    return make


@pytest.fixture
def unique_id() -> Callable[..., str]:
    """A factory of pool/job/task ids no other test (or test run) uses."""
    return _id_factory()


@pytest.fixture(scope="module")
def module_unique_id() -> Callable[..., str]:
    return _id_factory()


@pytest.fixture(scope="session")
def docker_client():
    """A Docker client with the node image present (fails in CI if not)."""
    try:
        from topwords.backends.local.config import LocalConfig
        from topwords.backends.local.docker_node import connect, image_exists
        client = connect()
    except (ImportError, TopwordsError) as exc:
        service_unavailable(f"Docker is not available: {exc}")
    image = LocalConfig.from_env().image
    if not image_exists(client, image):
        service_unavailable(f"the node image {image} is missing (topwords local build-image)")
    yield client
    client.close()


@pytest.fixture(scope="session")
def image_without_python(docker_client):
    """A node image whose python3 is gone: no node agent, and every task that
    needs python3 fails (exit 127)."""
    from topwords.backends.local.config import LocalConfig
    tag = f"topwords-test-nopython-{uuid.uuid4().hex[:8]}:latest"  # one per session
    container = docker_client.containers.run(
        LocalConfig.from_env().image, ["/bin/sh", "-c", "rm -f /usr/bin/python3*"],
        detach=True, network_mode="host")
    container.wait()
    container.commit(repository=tag.split(":")[0], tag="latest")
    container.remove()
    yield tag
    docker_client.images.remove(tag, force=True)


def _local_compute(request: pytest.FixtureRequest, tmp_dir):
    from topwords.backends.local.config import LocalConfig
    from topwords.backends.local.docker_node import connect
    from topwords.backends.local.engine import LocalBatchEngine
    request.getfixturevalue("docker_client")
    return LocalBatchEngine(connect(), image=LocalConfig.from_env().image, work_dir=tmp_dir)


def _azure_compute(request: pytest.FixtureRequest, tmp_dir):
    """The azure backend's BatchCompute (real azure-batch SDK) on the Batch
    emulator. The emulator answers at once, so its waits poll faster."""
    from topwords.backends.azure.batch_compute import connect
    config = emulator_azure_config(request)
    compute = connect(config.batch_url, config.batch_credential())
    compute.poll_interval, compute.max_poll_interval = 0.1, 0.5
    return compute


COMPUTE_FACTORIES = {"azure": _azure_compute, "local": _local_compute}
COMPUTE_BACKENDS = [pytest.param("azure", marks=[pytest.mark.docker, pytest.mark.azurite]),
                    pytest.param("local", marks=[pytest.mark.docker, pytest.mark.azurite])]


@pytest.fixture(scope="module", params=COMPUTE_BACKENDS)
def module_compute(request: pytest.FixtureRequest, tmp_path_factory):
    """A ``Compute`` of each backend, shared by one test module."""
    compute = COMPUTE_FACTORIES[request.param](request, tmp_path_factory.mktemp("nodes"))
    yield compute
    compute.close()


# -- the Batch emulator (Azure Batch on Docker + Azurite) ------------------
# The installed topwords pytest plugin (entry point "topwords") also offers
# batch_emulator and batch_client; these conftest fixtures override them here.

#: items per list page of the session's emulator: small, so that every list
#: the SDK makes (tasks, nodes, pools) follows odata.nextLink
EMULATOR_PAGE_SIZE = 5


@pytest.fixture(scope="session")
def batch_emulator(azurite, docker_client):
    """One Batch emulator for the session, on the session's Azurite."""
    try:
        from topwords.backends.local.emulator import BatchEmulator
        emulator = BatchEmulator(storage_url=azurite.blob_url, storage_key=azurite.account_key,
                                 page_size=EMULATOR_PAGE_SIZE)
        emulator.start()
    except (ImportError, TopwordsError) as exc:
        service_unavailable(f"the Batch emulator cannot start: {exc}")
    yield emulator
    emulator.stop()


def emulator_azure_config(request: pytest.FixtureRequest):
    """AzureConfig for the session's emulator (as `topwords emulator` prints it)."""
    from topwords.backends.azure.config import AzureConfig
    env = request.getfixturevalue("batch_emulator").environment()
    return AzureConfig(batch_url=env["TOPWORDS_BATCH_URL"],
                       batch_account=env["TOPWORDS_BATCH_ACCOUNT"],
                       batch_key=env["TOPWORDS_BATCH_KEY"],
                       storage_url=env["TOPWORDS_STORAGE_URL"],
                       storage_account=env["TOPWORDS_STORAGE_ACCOUNT"],
                       storage_key=env["TOPWORDS_STORAGE_KEY"])


@pytest.fixture(scope="session")
def batch_client(batch_emulator):
    """A real azure.batch.BatchClient on the session's emulator."""
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential
    client = BatchClient(batch_emulator.batch_url, AzureNamedKeyCredential(
        batch_emulator.account_name, batch_emulator.account_key))
    yield client
    client.close()


# -- in CI, a skipped Docker/Azurite test is a failure ----------------------

SERVICE_MARKS = ("docker", "azurite")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail") \
            and any(m in report.keywords for m in SERVICE_MARKS):
        _skipped_service_tests.append(report.nodeid)


_skipped_service_tests: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if services_required() and _skipped_service_tests:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config) -> None:
    if services_required() and _skipped_service_tests:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped_service_tests)} Docker/Azurite test(s) were skipped, "
            f"but services are required here (e.g. {_skipped_service_tests[0]})", red=True)
