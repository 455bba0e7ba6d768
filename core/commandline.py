"""What a backend adds to the ``topwords`` command line.

A backend's registry entry (``topwords.core.registry``) names an instance of
:class:`BackendCommands` as a lazy ``"module:attr"`` string. The CLI loads
every backend's commands when it builds its parser, for ``topwords --help``
and ``--version`` too, so the module that holds them must be light: it
imports the standard library and core only, never an SDK, and leaves the
backend's heavy imports to the handlers of its commands, which run only
when their command is given.

The CLI keeps what every backend shares (the pool, the workload, the
output, ``topwords cleanup``); a backend adds its own options of
``topwords run`` (in a group of its own, each option defaulting to None,
"not given", so that the backend's environment variables and defaults
apply) and whole commands of its own.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

__all__ = ["BackendCommands", "Handler"]

#: runs one command with its parsed arguments and returns the exit status;
#: it raises ``TopwordsError`` for expected failures (the CLI prints them as
#: one line: exit 2 for ``ConfigError``, else 1).
Handler = Callable[[argparse.Namespace], int]


class BackendCommands:
    """One backend's part of the command line. The defaults add nothing.

    Capability flags:
        run_group: the title of the backend's group of options in
            ``topwords run --help``; None: it has no options of its own.
        max_pool_nodes: the most nodes (dedicated plus spot) one pool may
            have on this backend, checked before anything is created; None:
            the backend's service decides.
    """

    run_group: str | None = None
    max_pool_nodes: int | None = None

    def add_run_options(self, group: argparse._ArgumentGroup) -> None:
        """Add the backend's options of ``topwords run`` to ``group``.

        Args:
            group: the argument group titled :attr:`run_group`. Option names
                must not clash with another backend's or the CLI's (argparse
                raises ``ArgumentError`` when the parser is built).

        Called once per parser; adds arguments only.
        """

    def run_options(self, args: argparse.Namespace) -> dict[str, Any]:
        """The keyword options for the backend's factory (``registry.create``)
        from the parsed arguments of ``topwords run``.

        Args:
            args: the parsed arguments, holding the options
                :meth:`add_run_options` added (None where not given).

        Returns:
            The options by name; None values mean "not given".

        Pure: reads ``args`` only.
        """
        return {}

    def add_commands(self, commands: argparse._SubParsersAction) -> None:
        """Add the backend's own commands (``topwords local ...``).

        Args:
            commands: the CLI's subcommands. Each parser added must set
                ``handler`` (a :data:`Handler`) with ``set_defaults``; a
                nested set of subcommands should use ``type(parser)`` as its
                ``parser_class`` so that its usage errors look like the
                CLI's.

        Called once per parser; adds parsers only, imports nothing heavy.
        """
