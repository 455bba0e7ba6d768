"""How a backend's settings are gathered, written once for every config
class: explicit values win over ``TOPWORDS_...`` variables, which win over
a config file's values (STYLE.md, "Configuration")."""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any, Mapping

from .errors import ConfigError

__all__ = ["merge_settings"]


def merge_settings(cls: type, explicit: Mapping[str, Any], env: Mapping[str, str], *,
                   what: str, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The keyword values to build the config dataclass ``cls`` from.

    Args:
        cls: the (frozen, keyword-only) config dataclass.
        explicit: options given in code or on the command line; None means
            "not given".
        env: field name -> environment variable; a variable that is unset
            or empty counts as not given.
        what: how an error names the settings (``"local backend"``).
        base: values of lowest precedence (a config file's), if any.

    Returns:
        ``base``, updated by the variables that are set, updated by the
        explicit values that are not None.

    Raises:
        ConfigError: an explicit name that is not a field of ``cls`` (the
            message lists the known ones).
    """
    known = {f.name for f in fields(cls)}
    unknown = set(explicit) - known
    if unknown:
        raise ConfigError(f"unknown {what} option(s): {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(known))}")
    values = dict(base or {})
    values.update({name: os.environ[var] for name, var in env.items() if os.environ.get(var)})
    values.update({name: value for name, value in explicit.items() if value is not None})
    return values
