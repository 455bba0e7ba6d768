"""The backend registry: names to lazy entries.

Built-in backends are listed here, each an :class:`Entry` of lazy
``"module:attr"`` strings (its factory, its part of the command line) and
the pip extra that brings its SDKs. Outside plugins add a factory through
the ``topwords.backends`` entry-point group (they add no command-line
options and have no extra of ours). Nothing is imported until it is asked
for, so a missing optional SDK only matters to the backend that needs it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from .backend import Backend
from .commandline import BackendCommands
from .errors import BackendUnavailable

__all__ = ["BUILTIN", "Entry", "available", "commands", "create", "install_hint"]


@dataclass(frozen=True)
class Entry:
    """One registered backend.

    Attributes:
        factory: ``"module:attr"`` of the function that builds the backend
            from keyword options.
        extra: the pip extra of topwords that brings the backend's SDKs
            (None: an outside plugin's, which topwords cannot install).
        commands: ``"module:attr"`` of its :class:`BackendCommands` (None:
            it adds nothing to the command line). That module imports no SDK.
    """

    factory: str
    extra: str | None = None
    commands: str | None = None


BUILTIN: dict[str, Entry] = {
    "azure": Entry("topwords.backends.azure:create", extra="azure",
                   commands="topwords.backends.azure.commands:COMMANDS"),
    "local": Entry("topwords.backends.local:create", extra="local",
                   commands="topwords.backends.local.commands:COMMANDS"),
}


def _entries() -> dict[str, Entry]:
    entries = {ep.name: Entry(ep.value) for ep in entry_points(group="topwords.backends")}
    entries.update(BUILTIN)
    return dict(sorted(entries.items()))


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _entry(name: str) -> Entry:
    entries = _entries()
    if name not in entries:
        raise BackendUnavailable(f"unknown backend {name!r}; choose one of: "
                                 + ", ".join(entries))
    return entries[name]


def available() -> list[str]:
    """Names of every registered backend, sorted."""
    return list(_entries())


def install_hint(name: str) -> str:
    """What to install for the backend ``name``'s SDKs, as a hint line."""
    entry = _entries().get(name)
    if entry is None or entry.extra is None:
        return f"install the package that provides the {name!r} backend"
    return f"pip install 'topwords[{entry.extra}]'"


def commands(name: str) -> BackendCommands:
    """The backend ``name``'s part of the command line (importing only its
    light commands module; an entry without one adds nothing).

    Raises:
        BackendUnavailable: unknown name.
    """
    entry = _entry(name)
    return _load(entry.commands) if entry.commands else BackendCommands()


def create(name: str, **options: Any) -> Backend:
    """Build the backend ``name`` with backend-specific ``options``.

    Raises:
        BackendUnavailable: unknown name, or an optional SDK is missing (the
            message names the extra to install).
        ConfigError: the options or environment are invalid.
    """
    entry = _entry(name)
    try:
        factory = _load(entry.factory)
    except ImportError as exc:
        raise BackendUnavailable(
            f"the {name} backend needs packages that are not installed ({exc.name})",
            hint=install_hint(name)) from exc
    return factory(**options)
