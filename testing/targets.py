"""What a contract suite runs on: a *target* (the object under test and the
capabilities it claims) and the ``requires`` marker that ties a contract
test to the capabilities it needs.

A test needs only the capabilities its decorator names; a target that does
not claim one of them does not run that test (``skip_unclaimed`` skips it
with the reason; a rig that knows its targets' flags before building them
can leave such pairs out entirely with :func:`claims`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping, TypeVar

import pytest

from topwords.core.compute import Compute
from topwords.core.storage import Storage

__all__ = ["ComputeTarget", "StorageTarget", "claims", "requires", "required_capabilities",
           "skip_unclaimed"]

F = TypeVar("F", bound=Callable[..., Any])

#: the attribute ``requires`` sets on a test function
_ATTRIBUTE = "topwords_requires"


@dataclass(frozen=True)
class StorageTarget:
    """A :class:`~topwords.core.storage.Storage` for the Storage contract.

    Attributes:
        name: the target's name in messages.
        storage: the storage under test (the suite never closes it). Each test
            works in containers of its own, named ``ct-<random>``, and
            deletes them.
        serves_sas_urls: its read and write URLs are live HTTP endpoints that
            honour their scope: a plain GET or PUT inside it works, one
            outside it is refused with 403. False for an in-process fake
            whose URLs reach nothing.
    """

    name: str
    storage: Storage
    serves_sas_urls: bool = True


@dataclass(frozen=True)
class ComputeTarget:
    """A :class:`~topwords.core.compute.Compute` for the Compute contract.

    Attributes:
        name: the target's name in messages.
        compute: the compute under test (the suite never closes it). Each
            test works under jobs (and pools) of its own with unique ids and
            deletes them; one 2-node, 2-slot pool is shared by the tests of
            a class.
        storage: a storage whose SAS URLs the compute's nodes can reach (for
            resource and output files); None: those tests do not run.
        has_nodes: tasks and StartTasks run their command lines on the
            pool's nodes, with Batch's directories, ``AZ_BATCH_*`` variables,
            ``stdout.txt``/``stderr.txt``, retries, wall-clock limits and
            slots. False for a compute that completes tasks without running
            them (an in-process fake): it runs only the tests of ids,
            errors and deletes.
        supports_task_dependencies / supports_output_files: as the
            :class:`Compute` flags of the same names; None (the default)
            takes the compute's. A target may claim less than its compute,
            never more (a contract test checks).
        wait_seconds: how long a test waits for its tasks (pools included).
        task_latency: seconds the service may add to a task's start or its
            report beyond what a local engine needs (real Azure: tens of
            seconds); timing assertions allow that much more.
    """

    name: str
    compute: Compute
    storage: Storage | None = None
    has_nodes: bool = True
    supports_task_dependencies: bool | None = None
    supports_output_files: bool | None = None
    wait_seconds: float = 60.0
    task_latency: float = 0.0

    def __post_init__(self) -> None:
        for flag in ("supports_task_dependencies", "supports_output_files"):
            if getattr(self, flag) is None:
                object.__setattr__(self, flag, bool(getattr(self.compute, flag)))

    @property
    def has_storage(self) -> bool:
        """The target has a storage its nodes can reach."""
        return self.storage is not None


def capability_names(target_class: type) -> frozenset[str]:
    """The capability flags a target class knows (its bool fields and
    ``has_storage``)."""
    names = {f.name for f in fields(target_class)
             if f.type in ("bool", "bool | None")}
    return frozenset(names | ({"has_storage"} if target_class is ComputeTarget else set()))


#: every capability a contract test may require
KNOWN_CAPABILITIES = capability_names(StorageTarget) | capability_names(ComputeTarget)


def requires(*capabilities: str) -> Callable[[F], F]:
    """Mark a contract test as needing ``capabilities`` (flag names of its
    target, e.g. ``"has_nodes"``).

    Raises:
        ValueError: a name no target class has (a typo would otherwise
            leave the test unrun on every target).
    """
    unknown = set(capabilities) - KNOWN_CAPABILITIES
    if unknown:
        raise ValueError(f"unknown capabilities {sorted(unknown)}; "
                         f"known: {', '.join(sorted(KNOWN_CAPABILITIES))}")

    def mark(function: F) -> F:
        setattr(function, _ATTRIBUTE, tuple(capabilities))
        return function
    return mark


def required_capabilities(function: Callable[..., Any]) -> tuple[str, ...]:
    """The capabilities ``function`` was marked with by :func:`requires`."""
    return getattr(function, _ATTRIBUTE, ())


def claims(flags: Mapping[str, bool] | StorageTarget | ComputeTarget,
           function: Callable[..., Any]) -> bool:
    """Whether a target (or a mapping of its flags) claims every capability
    ``function`` requires. A flag the mapping does not name counts as not
    claimed."""
    if isinstance(flags, (StorageTarget, ComputeTarget)):
        target = flags
        return all(bool(getattr(target, name, False))
                   for name in required_capabilities(function))
    return all(bool(flags.get(name, False)) for name in required_capabilities(function))


def skip_unclaimed(target: StorageTarget | ComputeTarget, function: Callable[..., Any]) -> None:
    """Skip the running test if ``target`` lacks a capability it requires."""
    missing = [name for name in required_capabilities(function)
               if not getattr(target, name, False)]
    if missing:
        pytest.skip(f"target {target.name} does not claim {', '.join(missing)}")
