"""The backend registry: names to lazy ``"module:factory"`` strings.

Built-in backends are listed here; outside plugins add theirs through the
``topwords.backends`` entry-point group. Nothing is imported until a backend
is asked for, so a missing optional SDK only matters to the backend that
needs it.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from .backend import Backend
from .errors import BackendUnavailable

__all__ = ["BUILTIN", "available", "create"]

BUILTIN: dict[str, str] = {
    "azure": "topwords.backends.azure:create",
    "local": "topwords.backends.local:create",
}

#: the pip extra that brings each built-in backend's SDKs
EXTRAS = {"azure": "azure", "local": "local"}


def _targets() -> dict[str, str]:
    targets = {ep.name: ep.value for ep in entry_points(group="topwords.backends")}
    targets.update(BUILTIN)
    return dict(sorted(targets.items()))


def available() -> list[str]:
    """Names of every registered backend, sorted."""
    return list(_targets())


def create(name: str, **options: Any) -> Backend:
    """Build the backend ``name`` with backend-specific ``options``.

    Raises:
        BackendUnavailable: unknown name, or an optional SDK is missing (the
            message names the extra to install).
        ConfigError: the options or environment are invalid.
    """
    target = _targets().get(name)
    if target is None:
        raise BackendUnavailable(f"unknown backend {name!r}; choose one of: "
                                 + ", ".join(available()))
    module_name, _, attr = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        extra = EXTRAS.get(name, name)
        raise BackendUnavailable(
            f"the {name} backend needs packages that are not installed ({exc.name})",
            hint=f"pip install 'topwords[{extra}]'") from exc
    return factory(**options)
