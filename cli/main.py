"""The ``topwords`` command.

    topwords run FILES... [--backend local|azure] [--top N] [--output-dir DIR] ...
    topwords cleanup [--backend azure|local] [--dry-run]
    topwords local setup | build-image | azurite | cleanup    (the local backend's)
    topwords emulator [--env-file PATH]                       (the local backend's)

The shared commands and options are here; each backend adds its own
through its registry entry (``topwords.core.commandline``), so this package
imports core and the workload, never a backend.

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
from topwords.core.options import (
    MAX_SLOTS, non_empty, non_empty_path, non_negative_int, positive_int, seconds, size,
    whole_number,
)
from topwords.core.run import PoolSettings, RunSettings
from topwords.workloads.topn import TopWords, run_top_words

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


#: the backend of `topwords run` when none is given; its options show first
DEFAULT_BACKEND = "local"


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: the shared commands and options here, each
    backend's own from its registry entry (``BackendCommands``)."""
    backends = {name: registry.commands(name) for name in registry.available()}
    parser = _Parser(prog="topwords", description="Run the Azure Batch top-N-words workflow "
                     "offline (Docker + Azurite) or on Azure Batch.")
    parser.add_argument("--version", action="version", version=f"topwords {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="count the top words of each input file on a backend")
    run.set_defaults(handler=_run)
    run.add_argument("files", nargs="*", metavar="FILE", help="text files to count")
    run.add_argument("--backend", choices=list(backends), default=DEFAULT_BACKEND)
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
    # the groups show in this order (the default backend's first); their
    # options (and so the usage line) go in the registry's
    shown = sorted(backends, key=lambda name: name != DEFAULT_BACKEND)
    groups = {name: run.add_argument_group(backends[name].run_group) for name in shown
              if backends[name].run_group}
    for name, group in sorted(groups.items()):
        backends[name].add_run_options(group)

    cleanup_all = commands.add_parser(
        "cleanup", help="delete what earlier runs left behind (from the run ledger)")
    cleanup_all.set_defaults(handler=_cleanup)
    cleanup_all.add_argument("--backend", choices=list(backends), default="azure")
    cleanup_all.add_argument("--dry-run", action="store_true", help="only list it")

    for backend in backends.values():
        backend.add_commands(commands)
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
    options = registry.commands(args.backend).run_options(args)
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
    limit = registry.commands(args.backend).max_pool_nodes
    nodes = args.nodes + args.spot_nodes
    if limit is not None and nodes > limit:
        raise ConfigError(f"--nodes {args.nodes} --spot-nodes {args.spot_nodes}: the "
                          f"{args.backend} backend runs at most {limit} nodes per pool")


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


def main(argv: Sequence[str] | None = None) -> int:
    _safe_streams()
    command = None
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        with interrupt_once() as interrupts:
            code = args.handler(args)
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
