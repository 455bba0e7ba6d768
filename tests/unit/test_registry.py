"""The registry: each entry carries its factory, its pip extra and its part
of the command line; a backend adds its options and commands there alone."""

from __future__ import annotations

import argparse
import sys
import types

import pytest

from topwords.cli import main as cli
from topwords.core import registry
from topwords.core.commandline import BackendCommands
from topwords.core.errors import BackendUnavailable, ConfigError


class Stop(ConfigError):
    """Raised by the stand-in factory: the CLI reached the backend."""


class NimbusCommands(BackendCommands):
    run_group = "nimbus backend"
    max_pool_nodes = 3

    def add_run_options(self, group):
        group.add_argument("--cloud-name", metavar="NAME")

    def run_options(self, args):
        return {"cloud_name": args.cloud_name}

    def add_commands(self, commands):
        sky = commands.add_parser("sky", help="look at the sky")
        sky.set_defaults(handler=lambda args: print(f"sky {args.colour}") or 7)
        sky.add_argument("--colour", default="blue")


@pytest.fixture
def nimbus(monkeypatch, tmp_path):
    """A backend "nimbus" registered in one place: its registry entry."""
    seen = []

    def create(**options):
        seen.append(options)
        raise Stop("reached nimbus")
    module = types.ModuleType("nimbus_backend")
    module.create, module.COMMANDS = create, NimbusCommands()
    monkeypatch.setitem(sys.modules, "nimbus_backend", module)
    monkeypatch.setitem(registry.BUILTIN, "nimbus", registry.Entry(
        "nimbus_backend:create", extra="nimbus", commands="nimbus_backend:COMMANDS"))
    monkeypatch.setenv("TOPWORDS_LEDGER", str(tmp_path / "ledger.jsonl"))
    text = tmp_path / "a.txt"
    text.write_text("some words\n", encoding="utf-8")
    return seen, text


def test_builtin_entries_carry_their_extra_and_commands():
    assert registry.install_hint("azure") == "pip install 'topwords[azure]'"
    assert registry.install_hint("local") == "pip install 'topwords[local]'"
    assert registry.commands("local").max_pool_nodes == 64
    assert registry.commands("azure").max_pool_nodes is None


def test_an_entry_without_extra_or_commands_adds_nothing_and_hints_its_package():
    entry = registry.Entry("somewhere:create")
    assert entry.extra is None and entry.commands is None
    assert "'plugin' backend" in registry.install_hint("plugin")


def test_commands_of_an_unknown_backend_name_the_choices():
    with pytest.raises(BackendUnavailable, match="unknown backend 'nope'; choose one of: azure"):
        registry.commands("nope")


def test_missing_sdk_names_the_entrys_extra(monkeypatch):
    monkeypatch.setitem(registry.BUILTIN, "ghost", registry.Entry(
        "topwords_no_such_module:create", extra="ghostly"))
    with pytest.raises(BackendUnavailable) as info:
        registry.create("ghost")
    assert info.value.hint == "pip install 'topwords[ghostly]'"
    assert "topwords_no_such_module" in str(info.value)


def test_a_backends_run_options_show_in_its_group_and_reach_its_factory(nimbus, capsys):
    seen, text = nimbus
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    help_text = capsys.readouterr().out
    assert "nimbus backend:\n  --cloud-name NAME" in help_text
    assert cli.main(["run", str(text), "--backend", "nimbus", "--cloud-name", "c1"]) == 2
    assert seen == [{"cloud_name": "c1"}]
    assert "reached nimbus" in capsys.readouterr().err


def test_a_backends_pool_limit_is_checked_before_its_factory(nimbus, capsys):
    seen, text = nimbus
    assert cli.main(["run", str(text), "--backend", "nimbus", "--nodes", "4"]) == 2
    assert seen == []
    assert capsys.readouterr().err.strip() == (
        "topwords: error: --nodes 4 --spot-nodes 0: the nimbus backend runs at most 3 nodes "
        "per pool")


def test_a_backends_own_command_runs_its_handler(nimbus, capsys):
    assert cli.main(["sky", "--colour", "grey"]) == 7
    assert capsys.readouterr().out == "sky grey\n"


def test_other_backends_options_do_not_reach_a_backend(nimbus):
    seen, text = nimbus
    assert cli.main(["run", str(text), "--backend", "nimbus", "--azurite-url", "http://x"]) == 2
    assert seen == [{"cloud_name": None}]


def test_backend_commands_defaults_add_nothing():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    BackendCommands().add_commands(commands)
    assert BackendCommands().run_options(argparse.Namespace()) == {}
    assert commands.choices == {}
