"""The test rig: every target the contract suites (``topwords.testing``) run
on, declared once.

A storage rig builds one session-wide Storage; a compute rig builds a
Compute (one per test class) and names the storage rig its nodes reach.
Each declares the capabilities it claims and the marks of the services it
needs (``docker``, ``azurite``: in CI a skip of those is a failure;
``azure_cloud``: skips without credentials, never a CI failure).
``tests/conftest.py`` turns these tables into the ``storage_target`` and
``compute_target`` fixtures, generating only the (test, target) pairs whose
capabilities match, and into ``module_compute`` (the isolated targets, for
the security and fault suites).

No target is here twice: the local and the azure backends share one
storage class (``AzureBlobStorage``), so the Azurite the emulator uses is
one storage rig, ``azurite``.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from topwords.core.compute import Compute
from topwords.core.storage import Storage
from topwords.testing import ComputeTarget, StorageTarget, claims

#: the variables real Azure needs (the README's "Development" section)
AZURE_CLOUD_ENV = ("TOPWORDS_BATCH_URL", "TOPWORDS_BATCH_KEY", "TOPWORDS_STORAGE_URL",
                   "TOPWORDS_STORAGE_KEY")

SERVICES = (pytest.mark.docker, pytest.mark.azurite)


class RigCache:
    """Session-wide objects the rigs share (storages, the real Azure
    backend), closed at the end of the session."""

    def __init__(self) -> None:
        self._objects: dict[str, Any] = {}
        self._stack = ExitStack()

    def get(self, key: str, make: Callable[[], Any], close: Callable[[Any], None] | None):
        if key not in self._objects:
            made = make()
            self._objects[key] = made
            if close is not None:
                self._stack.callback(close, made)
        return self._objects[key]

    def close(self) -> None:
        self._stack.close()


@dataclass(frozen=True)
class StorageRig:
    name: str
    build: Callable[[pytest.FixtureRequest, RigCache], Storage]
    marks: tuple = ()
    serves_sas_urls: bool = True

    def flags(self) -> dict[str, bool]:
        return {"serves_sas_urls": self.serves_sas_urls}


@dataclass(frozen=True)
class ComputeRig:
    name: str
    storage: str  # the storage rig its nodes reach
    build: Callable[[pytest.FixtureRequest, RigCache, Path], Compute]
    marks: tuple = ()
    has_nodes: bool = True
    supports_task_dependencies: bool = True
    supports_output_files: bool = True
    #: nodes are isolated from the host (the security suite runs on these)
    isolated: bool = False
    wait_seconds: float = 60.0
    task_latency: float = 0.0

    def flags(self) -> dict[str, bool]:
        return {"has_nodes": self.has_nodes, "has_storage": True,
                "supports_task_dependencies": self.supports_task_dependencies,
                "supports_output_files": self.supports_output_files}


# -- builders ---------------------------------------------------------------

def _fake_storage(request, cache):
    from fakes import FakeStorage
    return cache.get("storage:fake", FakeStorage, None)


def _azurite_storage(request, cache):
    azurite = request.getfixturevalue("azurite")
    return cache.get("storage:azurite", azurite.storage, lambda s: s.close())


def _azure_cloud_backend(cache):
    missing = [name for name in AZURE_CLOUD_ENV if not os.environ.get(name)]
    if missing:
        pytest.skip(f"real Azure: no credentials ({', '.join(missing)} unset)")
    from topwords.core import registry
    return cache.get("backend:azure-cloud", lambda: registry.create("azure"),
                     lambda backend: backend.close())


def _azure_cloud_storage(request, cache):
    return _azure_cloud_backend(cache).storage


def _fake_compute(request, cache, work_dir):
    from fakes import FakeCompute
    return FakeCompute(_fake_storage(request, cache), lambda spec: (0, None))


def _local_engine(runtime_name: str):
    def build(request, cache, work_dir):
        from topwords.backends.local.config import LocalConfig
        from topwords.backends.local.engine import LocalBatchEngine
        from topwords.backends.local.runtime import make_runtime
        client = request.getfixturevalue("docker_client") if runtime_name == "container" \
            else None
        return LocalBatchEngine(image=LocalConfig.from_env().image, work_dir=work_dir,
                                runtime=make_runtime(runtime_name, client))
    return build


def _azure_on_emulator(request, cache, work_dir):
    """The azure backend's BatchCompute (real azure-batch SDK) on the
    session's Batch emulator, which answers at once, so it polls faster."""
    from topwords.backends.azure.batch_compute import connect
    config = emulator_azure_config(request)
    compute = connect(config.batch_url, config.batch_credential())
    compute.poll_interval, compute.max_poll_interval = 0.1, 0.5
    return compute


def _azure_cloud_compute(request, cache, work_dir):
    _azure_cloud_backend(cache)  # skips without credentials
    from topwords.core import registry
    backend = registry.create("azure")
    request.addfinalizer(backend.close)
    return backend.compute


def emulator_azure_config(request: pytest.FixtureRequest):
    """AzureConfig for the session's emulator (as `topwords emulator` prints it)."""
    from topwords.backends.azure.config import AzureConfig
    env = request.getfixturevalue("container_emulator").environment()
    return AzureConfig(batch_url=env["TOPWORDS_BATCH_URL"],
                       batch_account=env["TOPWORDS_BATCH_ACCOUNT"],
                       batch_key=env["TOPWORDS_BATCH_KEY"],
                       storage_url=env["TOPWORDS_STORAGE_URL"],
                       storage_account=env["TOPWORDS_STORAGE_ACCOUNT"],
                       storage_key=env["TOPWORDS_STORAGE_KEY"])


# -- the targets ---------------------------------------------------------------

STORAGE_RIGS = {rig.name: rig for rig in [
    StorageRig("fake", _fake_storage, serves_sas_urls=False),
    StorageRig("azurite", _azurite_storage, marks=(pytest.mark.azurite,)),
    StorageRig("azure-cloud", _azure_cloud_storage, marks=(pytest.mark.azure_cloud,)),
]}

COMPUTE_RIGS = {rig.name: rig for rig in [
    ComputeRig("fake", "fake", _fake_compute, has_nodes=False,
               supports_task_dependencies=False, supports_output_files=False),
    ComputeRig("local-container", "azurite", _local_engine("container"), marks=SERVICES,
               isolated=True),
    ComputeRig("local-process", "azurite", _local_engine("process"),
               marks=(pytest.mark.azurite,)),
    ComputeRig("azure-emulator", "azurite", _azure_on_emulator, marks=SERVICES, isolated=True),
    ComputeRig("azure-cloud", "azure-cloud", _azure_cloud_compute,
               marks=(pytest.mark.azure_cloud,), wait_seconds=1800.0, task_latency=60.0),
]}


#: the node runtimes the session's Batch emulator (``batch_emulator``) runs on,
#: with the marks of the services each needs: a test (or module) marked
#: ``node_runtimes("process", "container")`` runs on both, in the fast tier
#: and in the Docker tier; one not marked runs on ``container`` only (the
#: session starts at most one emulator per runtime: ``container_emulator``,
#: ``process_emulator``)
EMULATOR_RUNTIMES = {"process": (pytest.mark.azurite,), "container": SERVICES}

# -- what conftest.py uses -------------------------------------------------------

def emulator_params(runtimes) -> list:
    """pytest params of the session emulator on each of ``runtimes``."""
    unknown = [name for name in runtimes if name not in EMULATOR_RUNTIMES]
    if unknown:
        raise ValueError(f"node_runtimes: unknown runtime(s) {unknown}; choose from "
                         f"{', '.join(EMULATOR_RUNTIMES)}")
    return [pytest.param(name, marks=EMULATOR_RUNTIMES[name], id=name) for name in runtimes]


def storage_params(function) -> list:
    """pytest params of the storage rigs that claim what ``function`` requires."""
    return [pytest.param(rig.name, marks=rig.marks, id=rig.name)
            for rig in STORAGE_RIGS.values() if claims(rig.flags(), function)]


def compute_params(function=None, *, isolated: bool = False) -> list:
    """pytest params of the compute rigs that claim what ``function``
    requires (and, with ``isolated``, only those with isolated nodes)."""
    return [pytest.param(rig.name, marks=rig.marks, id=rig.name)
            for rig in COMPUTE_RIGS.values()
            if (function is None or claims(rig.flags(), function))
            and (rig.isolated or not isolated)]


def storage_target(name: str, request: pytest.FixtureRequest, cache: RigCache) -> StorageTarget:
    rig = STORAGE_RIGS[name]
    return StorageTarget(name, rig.build(request, cache), serves_sas_urls=rig.serves_sas_urls)


def build_compute(name: str, request: pytest.FixtureRequest, cache: RigCache,
                  work_dir: Path | None) -> Compute:
    """The Compute of rig ``name``; the caller closes it."""
    return COMPUTE_RIGS[name].build(request, cache, work_dir)


def compute_target(name: str, compute: Compute, request: pytest.FixtureRequest,
                   cache: RigCache) -> ComputeTarget:
    rig = COMPUTE_RIGS[name]
    return ComputeTarget(
        name, compute, storage=STORAGE_RIGS[rig.storage].build(request, cache),
        has_nodes=rig.has_nodes, supports_task_dependencies=rig.supports_task_dependencies,
        supports_output_files=rig.supports_output_files, wait_seconds=rig.wait_seconds,
        task_latency=rig.task_latency)
