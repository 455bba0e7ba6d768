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

from topwords.core.errors import TopwordsError
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
    from topwords.backends.local.azurite import storage_for
    return storage_for(request.getfixturevalue("azurite").blob_url)


#: backend name -> factory of a session-wide Storage. A factory may call
#: service_unavailable(); each backend's params carry the marks of the
#: services it needs.
STORAGE_FACTORIES: dict[str, Callable[[pytest.FixtureRequest], Storage]] = {
    "local": _local_storage,
}
STORAGE_BACKENDS = [
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
