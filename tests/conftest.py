"""The shared test fixtures: services (Azurite, Docker, the Batch emulator),
the contract targets of tests/rigs.py, and ids.

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

import rigs

# These machines are noisy (2 shared cores): a property test's example may
# take longer than hypothesis's 200 ms deadline for reasons of its own.
settings.register_profile("topwords", deadline=None)
settings.load_profile("topwords")


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


# -- the contract targets (declared in tests/rigs.py) ----------------------

@pytest.fixture(scope="session")
def rig_cache() -> Iterator[rigs.RigCache]:
    cache = rigs.RigCache()
    yield cache
    cache.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each contract test on every target that claims what it requires."""
    if "storage_target" in metafunc.fixturenames:
        metafunc.parametrize("storage_target", rigs.storage_params(metafunc.function),
                             indirect=True, scope="class")
    if "compute_target" in metafunc.fixturenames:
        metafunc.parametrize("compute_target", rigs.compute_params(metafunc.function),
                             indirect=True, scope="class")
    marker = metafunc.definition.get_closest_marker("node_runtimes")
    if marker is not None and "batch_emulator" in metafunc.fixturenames:
        metafunc.parametrize("batch_emulator", rigs.emulator_params(marker.args),
                             indirect=True, scope="session")


@pytest.fixture(scope="class")
def storage_target(request: pytest.FixtureRequest, rig_cache):
    """The storage rig ``request.param`` as a ``StorageTarget``."""
    return rigs.storage_target(request.param, request, rig_cache)


@pytest.fixture(scope="class")
def compute_target(request: pytest.FixtureRequest, rig_cache, tmp_path_factory):
    """The compute rig ``request.param`` as a ``ComputeTarget`` (one Compute
    per test class)."""
    compute = rigs.build_compute(request.param, request, rig_cache,
                                 tmp_path_factory.mktemp("nodes"))
    try:
        yield rigs.compute_target(request.param, compute, request, rig_cache)
    finally:
        compute.close()


@pytest.fixture
def unique_name() -> Callable[..., str]:
    """A factory of container names no other test (or test run) uses."""
    def make(prefix: str = "ct") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"
    return make


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


@pytest.fixture(scope="module", params=rigs.compute_params(isolated=True))
def module_compute(request: pytest.FixtureRequest, rig_cache, tmp_path_factory):
    """A ``Compute`` of each target with isolated nodes (the engine on
    containers, the azure backend on the emulator), shared by one module."""
    compute = rigs.build_compute(request.param, request, rig_cache,
                                 tmp_path_factory.mktemp("nodes"))
    yield compute
    compute.close()


# -- the Batch emulator (Azure Batch on Docker + Azurite) ------------------
# The installed topwords pytest plugin (entry point "topwords") also offers
# batch_emulator and batch_client; these conftest fixtures override them here.

#: items per list page of the session's emulator: small, so that every list
#: the SDK makes (tasks, nodes, pools) follows odata.nextLink
EMULATOR_PAGE_SIZE = 5


def _start_emulator(azurite, runtime: str):
    try:
        from topwords.backends.local.emulator import BatchEmulator
        emulator = BatchEmulator(storage_url=azurite.blob_url, storage_key=azurite.account_key,
                                 page_size=EMULATOR_PAGE_SIZE, node_runtime=runtime)
        emulator.start()
    except (ImportError, TopwordsError) as exc:
        service_unavailable(f"the Batch emulator cannot start: {exc}")
    return emulator


@pytest.fixture(scope="session")
def container_emulator(azurite, docker_client):
    """The session's Batch emulator on container nodes (Docker)."""
    emulator = _start_emulator(azurite, "container")
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def process_emulator(azurite):
    """The session's Batch emulator on process nodes (no Docker)."""
    emulator = _start_emulator(azurite, "process")
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def batch_emulator(request: pytest.FixtureRequest):
    """One Batch emulator per node runtime for the session, on the session's
    Azurite: on ``request.param`` when the test is marked ``node_runtimes``
    (see ``pytest_generate_tests`` and ``rigs.EMULATOR_RUNTIMES``), else on
    containers."""
    return request.getfixturevalue(f"{getattr(request, 'param', 'container')}_emulator")


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


# -- a module's own emulator (tests/emulator/emulator_rig.py) ------------------

@pytest.fixture(scope="module")
def emulator():
    """A module's own Batch emulator on process nodes (no Docker, no
    Azurite); a module that needs other settings defines its own."""
    from emulator_rig import start_emulator  # tests/emulator, which the modules using it are in
    emulator = start_emulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def client(emulator):
    """A BatchClient on the module's ``emulator``."""
    from emulator_rig import client_of
    with client_of(emulator) as client:
        yield client
