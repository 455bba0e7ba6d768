"""The ``topwords`` command.

    topwords run FILES... [--backend local|azure] [--top N] [--output-dir DIR] ...
    topwords local setup | build-image | cleanup
    topwords emulator [--env-file PATH]

Every expected failure is one line on stderr (plus a hint), never a
traceback: exit 2 for bad input or configuration (nothing was created),
1 for a failed run, 130 when interrupted. Results go to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from topwords.core import registry
from topwords.core.errors import ConfigError, TopwordsError, redact_url
from topwords.core.inputs import validate_inputs
from topwords.core.ledger import Ledger
from topwords.core.naming import printable
from topwords.core.run import PoolSettings, RunSettings
from topwords.workloads.topn import TopWords, run_top_words

from topwords.backends.local.runtime import RUNTIMES

from .options import (
    MAX_POOL_NODES, MAX_SLOTS, non_empty, non_empty_path, non_negative_int, positive_int,
    seconds, size, whole_number,
)
from .output import print_json, print_summary
from .progress import TerminalProgress
from .signals import interrupt_once, keep_exit_status

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):  # name the options, never echo values (keys!)
            names = [a for a in message[len(prefix):].split() if a.startswith("-")]
            message = prefix + (" ".join(names) or "(values without an option)")
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _version() -> str:
    """The installed distribution's version (set from the git tag at build time)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("topwords")
    except PackageNotFoundError:
        return "(unknown: not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="topwords", description="Run the Azure Batch top-N-words workflow "
                     "offline (Docker + Azurite) or on Azure Batch.")
    parser.add_argument("--version", action="version", version=f"topwords {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="count the top words of each input file on a backend")
    run.add_argument("files", nargs="*", metavar="FILE", help="text files to count")
    run.add_argument("--backend", choices=registry.available(), default="local")
    run.add_argument("--top", type=positive_int, default=3, metavar="N",
                     help="words per file (default 3)")
    run.add_argument("--output-dir", type=non_empty_path, default=Path("output"), metavar="DIR",
                     help="where results are downloaded (default ./output)")
    run.add_argument("--ignore-case", action="store_true", help="fold case before counting")
    run.add_argument("--nodes", type=positive_int, default=2, metavar="N",
                     help="compute nodes in the pool (default 2)")
    run.add_argument("--slots", type=whole_number(1, MAX_SLOTS), default=1, metavar="N",
                     help="tasks at once per node (default 1)")
    run.add_argument("--spot-nodes", type=non_negative_int, default=0, metavar="N",
                     help="spot/low-priority nodes on top of --nodes (default 0)")
    run.add_argument("--vm-size", type=non_empty, default="standard_d2s_v3", metavar="SIZE",
                     help="VM size of the nodes (azure; default standard_d2s_v3)")
    run.add_argument("--pool-id", type=non_empty, metavar="ID",
                     help="reuse this pool if it exists and fits, else create it")
    run.add_argument("--retries", type=non_negative_int, default=1, metavar="N",
                     help="re-runs of a task that exits non-zero (default 1)")
    run.add_argument("--split-size", type=size, metavar="SIZE",
                     help="count files larger than SIZE (e.g. 64M) in parts, one task "
                          "per part (default: never split)")
    run.add_argument("--timeout", type=seconds, default=1200.0, metavar="SECONDS",
                     help="how long to wait for the tasks (default 1200)")
    run.add_argument("--image", type=non_empty,
                     help="node image (local: a Docker image with python3; azure: "
                          "publisher:offer:sku[:version], default: the newest verified "
                          "Ubuntu LTS)")
    run.add_argument("--task-image", type=non_empty, metavar="IMAGE",
                     help="run each task in a container of IMAGE (it needs bash and python3; "
                          "local: an image Docker has, e.g. topwords-node:local; azure: one "
                          "the nodes can pull, on a container-capable --image)")
    run.add_argument("--keep-pool", action="store_true", help="leave the pool running")
    run.add_argument("--keep-containers", action="store_true",
                     help="leave the blob containers in storage")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    local = run.add_argument_group("local backend")
    azure = run.add_argument_group(
        "azure backend (keys only from the environment or the config file, never flags: "
        "flags show in `ps` and shell history)")
    for flag, metavar in (("--batch-url", "URL"), ("--batch-account", "NAME"),
                          ("--storage-url", "URL"), ("--storage-account", "NAME")):
        azure.add_argument(flag, type=non_empty, metavar=metavar,
                           help="TOPWORDS_" + flag[2:].replace("-", "_").upper())
    local.add_argument("--node-runtime", choices=RUNTIMES, metavar="RUNTIME",
                       help="container (Docker, isolated; default) or process (plain host "
                            "processes: no Docker, no isolation)")
    local.add_argument("--azurite-url", type=non_empty, metavar="URL",
                       help="use this running Azurite's blob endpoint instead of starting one")

    cleanup_all = commands.add_parser(
        "cleanup", help="delete what earlier runs left behind (from the run ledger)")
    cleanup_all.add_argument("--backend", choices=registry.available(), default="azure")
    cleanup_all.add_argument("--dry-run", action="store_true", help="only list it")

    emulator = commands.add_parser(
        "emulator", help="run a local Azure Batch account (and Azurite) in the foreground for "
                         "--backend azure and your own BatchClient code; Ctrl-C stops it")
    emulator.add_argument("--env-file", type=non_empty_path, metavar="PATH",
                          help="also write the export lines (with the keys) to PATH")
    emulator.add_argument("--node-runtime", choices=RUNTIMES, metavar="RUNTIME",
                          help="container (Docker, isolated; default) or process (no Docker, "
                               "no isolation: for your own code)")
    emulator.add_argument("--port", type=whole_number(0, 65535), default=0, metavar="N",
                          help="port of the Batch API (default: a free one)")

    setup = commands.add_parser("local", help="set up and tidy the local backend")
    actions = setup.add_subparsers(dest="action", required=True, parser_class=_Parser)
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
    return parser


def _run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    inputs = validate_inputs(args.files)
    workload = TopWords(top=args.top, ignore_case=args.ignore_case, split_size=args.split_size)
    workload.check(inputs)
    _check_pool_size(args)
    ledger = Ledger.default()  # checked before anything exists
    settings = RunSettings(
        output_dir=args.output_dir, timeout=args.timeout, max_task_retries=args.retries,
        keep_containers=args.keep_containers, pool=PoolSettings(
            node_count=args.nodes, spot_node_count=args.spot_nodes,
            task_slots_per_node=args.slots, image=args.image, vm_size=args.vm_size,
            pool_name=args.pool_id, keep_pool=args.keep_pool, task_image=args.task_image))
    options = _backend_options(args)
    progress = TerminalProgress(quiet=args.quiet)
    progress.stage(f"starting the {args.backend} backend")
    with registry.create(args.backend, **options) as backend:
        try:
            result = run_top_words(backend, inputs, settings, workload, progress, ledger)
        finally:
            progress.finish()
    if args.keep_pool:
        print(f"note: pool {settings.pool_id} was kept (remove it with "
              f"`topwords cleanup --backend {args.backend}`)", file=sys.stderr)
    show = print_json if args.json else print_summary
    show(result, sys.stdout, args.backend, time.monotonic() - started)
    return 0 if result.succeeded else 1


def _check_pool_size(args: argparse.Namespace) -> None:
    limit = MAX_POOL_NODES.get(args.backend)
    nodes = args.nodes + args.spot_nodes
    if limit is not None and nodes > limit:
        raise ConfigError(f"--nodes {args.nodes} --spot-nodes {args.spot_nodes}: the "
                          f"{args.backend} backend runs at most {limit} nodes per pool")


def _backend_options(args: argparse.Namespace) -> dict:
    """The flags meant for the chosen backend (None = not given)."""
    if args.backend == "local":
        return {"storage_url": args.azurite_url, "node_runtime": args.node_runtime}
    if args.backend == "azure":
        return {"batch_url": args.batch_url, "batch_account": args.batch_account,
                "storage_url": args.storage_url, "storage_account": args.storage_account}
    return {}


def _cleanup(args: argparse.Namespace) -> int:
    from topwords.core.cleanup import delete_outstanding

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    ledger = Ledger.default()
    if not ledger.outstanding(args.backend):
        say(f"nothing left behind on the {args.backend} backend (ledger: {ledger.path})")
        return 0
    with registry.create(args.backend) as backend:
        left = delete_outstanding(backend, ledger, say, dry_run=args.dry_run)
    return 1 if left else 0


def _local(args: argparse.Namespace) -> int:
    from topwords.backends.local import provision

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    if args.action == "build-image":
        provision.ensure_docker(say)
        provision.build_image(say)
    elif args.action == "azurite":
        return _serve_azurite(args.location, say)
    elif args.action == "setup":
        provision.ensure_docker(say)
        provision.ensure_azurite(say)
        provision.ensure_image(say)
        say("local backend ready")
    else:
        from topwords.backends.local.config import LocalConfig
        from topwords.backends.local.docker_node import connect
        from topwords.backends.local.leftovers import candidate_dirs, sweep

        client = connect()
        try:
            swept = sweep(client, dirs=candidate_dirs(LocalConfig.from_env().work_dir), say=say,
                          everything=args.all, include_kept=True, dry_run=args.dry_run)
        finally:
            client.close()
        say(f"{swept.containers} container(s), {swept.processes} Azurite process(es), "
            f"{swept.directories} folder(s) {'to remove' if args.dry_run else 'removed'}")
    return 0


def _serve_azurite(location: Path | None, say) -> int:
    import threading

    from topwords.backends.local.azurite import AzuriteServer

    server = AzuriteServer(location)
    server.start()
    try:
        print(f"export TOPWORDS_LOCAL_STORAGE_URL={server.blob_url}\n"
              f"export TOPWORDS_LOCAL_STORAGE_KEY={server.account_key}", flush=True)
        say(f"Azurite is listening at {server.blob_url}; runs reuse it with "
            f"--azurite-url or the variable above. Ctrl-C stops it.")
        threading.Event().wait()
    finally:
        server.stop()
    return 0


def _emulator(args: argparse.Namespace) -> int:
    """Run the Batch emulator until SIGINT/SIGTERM (which stop it and remove
    its containers)."""
    import threading

    from topwords.backends.local.emulator import BatchEmulator

    with BatchEmulator(port=args.port, node_runtime=args.node_runtime) as emulator:
        script = emulator.export_script()
        if args.env_file:
            _write_private(args.env_file, script)
        print(script, end="", flush=True)
        print(f"Batch emulator at {emulator.batch_url} (account {emulator.account_name}), "
              f"Azurite at {emulator.storage_url}; use the variables above with "
              "`--backend azure` or a BatchClient. Ctrl-C stops both.", file=sys.stderr)
        threading.Event().wait()
    return 0


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` (it holds keys) to ``path``, mode 0600 whatever the file
    was before: a new file replaces the old one, so no other user who could
    read it (or a link planted at its name) sees the keys.

    Raises:
        ConfigError: the file cannot be written.
    """
    import os
    import tempfile
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write the --env-file {path}: {exc.strerror or exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    _safe_streams()
    command = None
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        with interrupt_once() as interrupts:
            code = {"run": _run, "cleanup": _cleanup, "local": _local,
                    "emulator": _emulator}[command](args)
        if interrupts.received:  # it landed in the cleanup, which finished
            print("topwords: interrupted (the cleanup finished first)", file=sys.stderr)
            keep_exit_status()
            return 130
        return code
    except KeyboardInterrupt:
        note = " (cleanup ran; warnings above name anything left)" if command == "run" else ""
        print(f"topwords: interrupted{note}", file=sys.stderr)
        keep_exit_status()
        return 130
    except TopwordsError as exc:
        print(f"topwords: error: {_message(str(exc))}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {_message(exc.hint)}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1


def _message(text: str) -> str:
    """An error's text as printed: no SAS query, no control characters (its
    own line breaks are kept)."""
    return "\n".join(printable(line) for line in redact_url(text).split("\n"))


def _safe_streams() -> None:
    """Printing never raises UnicodeEncodeError, whatever the terminal's
    encoding: what it cannot show becomes a backslash escape."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # closed, or not a text stream after all
                pass


if __name__ == "__main__":
    sys.exit(main())
