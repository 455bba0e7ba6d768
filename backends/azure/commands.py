"""The azure backend's part of the ``topwords`` command line: the flags of
``topwords run`` that name its accounts (see ``topwords.core.commandline``).

Keys are never flags (flags show in ``ps`` and in shell history): they come
from the environment or the config file only. Imports no SDK.
"""

from __future__ import annotations

import argparse
from typing import Any

from topwords.core.commandline import BackendCommands
from topwords.core.options import non_empty

__all__ = ["COMMANDS", "AzureCommands"]

#: the flags, each for the ``AzureConfig`` field of the same name
_FLAGS = (("--batch-url", "URL"), ("--batch-account", "NAME"),
          ("--storage-url", "URL"), ("--storage-account", "NAME"))


class AzureCommands(BackendCommands):
    run_group = ("azure backend (keys only from the environment or the config file, never "
                 "flags: flags show in `ps` and shell history)")

    def add_run_options(self, group: argparse._ArgumentGroup) -> None:
        for flag, metavar in _FLAGS:
            group.add_argument(flag, type=non_empty, metavar=metavar,
                               help="TOPWORDS_" + flag[2:].replace("-", "_").upper())

    def run_options(self, args: argparse.Namespace) -> dict[str, Any]:
        fields = (flag[2:].replace("-", "_") for flag, _ in _FLAGS)
        return {name: getattr(args, name) for name in fields}


COMMANDS = AzureCommands()
