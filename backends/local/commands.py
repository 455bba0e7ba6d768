"""The local backend's part of the ``topwords`` command line (see
``topwords.core.commandline``): the options of ``topwords run`` that pick
its node runtime and Azurite, and its own commands, ``topwords local
setup | build-image | azurite | cleanup`` and ``topwords emulator``.

Imports the standard library and core only (``topwords --help`` loads it);
each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from topwords.core.commandline import BackendCommands
from topwords.core.errors import ConfigError
from topwords.core.options import non_empty, non_empty_path, whole_number

from .runtime import RUNTIMES

__all__ = ["COMMANDS", "LocalCommands", "write_private"]


class LocalCommands(BackendCommands):
    run_group = "local backend"
    #: every node is a container (or a process) on this machine
    max_pool_nodes = 64

    def add_run_options(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--node-runtime", choices=RUNTIMES, metavar="RUNTIME",
                           help="container (Docker, isolated; default) or process (plain host "
                                "processes: no Docker, no isolation)")
        group.add_argument("--azurite-url", type=non_empty, metavar="URL",
                           help="use this running Azurite's blob endpoint instead of starting "
                                "one")

    def run_options(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"storage_url": args.azurite_url, "node_runtime": args.node_runtime}

    def add_commands(self, commands: argparse._SubParsersAction) -> None:
        emulator = commands.add_parser(
            "emulator", help="run a local Azure Batch account (and Azurite) in the foreground "
                             "for --backend azure and your own BatchClient code; Ctrl-C stops "
                             "it")
        emulator.set_defaults(handler=_emulator)
        emulator.add_argument("--env-file", type=non_empty_path, metavar="PATH",
                              help="also write the export lines (with the keys) to PATH")
        emulator.add_argument("--node-runtime", choices=RUNTIMES, metavar="RUNTIME",
                              help="container (Docker, isolated; default) or process (no "
                                   "Docker, no isolation: for your own code)")
        emulator.add_argument("--port", type=whole_number(0, 65535), default=0, metavar="N",
                              help="port of the Batch API (default: a free one)")

        local = commands.add_parser("local", help="set up and tidy the local backend")
        local.set_defaults(handler=_local)
        actions = local.add_subparsers(dest="action", required=True, parser_class=type(local))
        actions.add_parser("setup", help="start Docker, install Azurite, build the node image "
                                         "(idempotent)")
        actions.add_parser("build-image", help="build the node image offline (mmdebstrap)")
        azurite = actions.add_parser("azurite", help="run Azurite in the foreground for runs to "
                                                     "share (--azurite-url); Ctrl-C stops it")
        azurite.add_argument("--location", type=non_empty_path, metavar="DIR",
                             help="keep its data in DIR (default: in memory)")
        cleanup = actions.add_parser("cleanup", help="remove node containers left by killed runs")
        cleanup.add_argument("--all", action="store_true",
                             help="also those of runs that are still going")
        cleanup.add_argument("--dry-run", action="store_true", help="only list them")


COMMANDS = LocalCommands()


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _local(args: argparse.Namespace) -> int:
    from . import provision

    if args.action == "build-image":
        provision.ensure_docker(_say)
        provision.build_image(_say)
    elif args.action == "azurite":
        return _serve_azurite(args.location)
    elif args.action == "setup":
        provision.ensure_docker(_say)
        provision.ensure_azurite(_say)
        provision.ensure_image(_say)
        _say("local backend ready")
    else:
        _cleanup(everything=args.all, dry_run=args.dry_run)
    return 0


def _cleanup(everything: bool, dry_run: bool) -> None:
    from .config import LocalConfig
    from .docker_node import connect
    from .leftovers import candidate_dirs, sweep

    client = connect()
    try:
        swept = sweep(client, dirs=candidate_dirs(LocalConfig.from_env().work_dir), say=_say,
                      everything=everything, include_kept=True, dry_run=dry_run)
    finally:
        client.close()
    _say(f"{swept.containers} container(s), {swept.processes} Azurite process(es), "
         f"{swept.directories} folder(s) {'to remove' if dry_run else 'removed'}")


def _serve_azurite(location: Path | None) -> int:
    import threading

    from .azurite import AzuriteServer

    server = AzuriteServer(location)
    server.start()
    try:
        print(f"export TOPWORDS_LOCAL_STORAGE_URL={server.blob_url}\n"
              f"export TOPWORDS_LOCAL_STORAGE_KEY={server.account_key}", flush=True)
        _say(f"Azurite is listening at {server.blob_url}; runs reuse it with "
             f"--azurite-url or the variable above. Ctrl-C stops it.")
        threading.Event().wait()
    finally:
        server.stop()
    return 0


def _emulator(args: argparse.Namespace) -> int:
    """Run the Batch emulator until SIGINT/SIGTERM (which stop it and remove
    its containers)."""
    import threading

    from .emulator import BatchEmulator

    with BatchEmulator(port=args.port, node_runtime=args.node_runtime) as emulator:
        script = emulator.export_script()
        if args.env_file:
            write_private(args.env_file, script)
        print(script, end="", flush=True)
        _say(f"Batch emulator at {emulator.batch_url} (account {emulator.account_name}), "
             f"Azurite at {emulator.storage_url}; use the variables above with "
             "`--backend azure` or a BatchClient. Ctrl-C stops both.")
        threading.Event().wait()
    return 0


def write_private(path: Path, text: str) -> None:
    """Write ``text`` (it holds keys) to ``path``, mode 0600 whatever the file
    was before: a new file replaces the old one, so no other user who could
    read it (or a link planted at its name) sees the keys.

    Raises:
        ConfigError: the file cannot be written.
    """
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write the --env-file {path}: {exc.strerror or exc}") from None
