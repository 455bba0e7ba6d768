"""The layering of STYLE.md holds (checked on the source, module by module):

    cli -> core <- backends/azure, backends/local
      `-> workloads -> core, node/          node/ talks to nothing.
    testing -> core                          (the contract suites)

core imports no SDK, no backend, no workload and no cli; the cli imports
core (the registry brings each backend's own commands) and the workload,
never a backend or an SDK; workloads import core and node/ only; the azure
backend never imports the local one; node/ uses the standard library only;
only one module of the local backend touches the Docker SDK; the contract
suites (testing/) import core only. And at run time: `topwords --help` and
`--version` load no SDK.

This test is the layer checker: import-linter cannot see the namespace the
top-level folders are mapped into (pyproject.toml, [tool.setuptools]).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SDKS = {"azure", "docker", "requests", "urllib3"}


def imports_of(path: Path, package: str | None = None) -> set[str]:
    """Absolute module names a file imports (relative ones resolved against
    ``package``, by default the file's package in the repo)."""
    package = package or "topwords." + ".".join(path.parent.relative_to(REPO).parts)
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
    return names


def sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def offenders(folder: str, forbidden: set[str]) -> dict[str, set[str]]:
    found = {}
    for path in sources(folder):
        bad = {name for name in imports_of(path)
               if any(name == f or name.startswith(f + ".") for f in forbidden)}
        if bad:
            found[str(path.relative_to(REPO))] = bad
    return found


def test_core_imports_no_sdk_no_backend_no_workload_and_no_cli():
    assert sources("core")
    assert offenders("core", SDKS | {"topwords.backends", "topwords.cli",
                                     "topwords.workloads"}) == {}


def test_cli_imports_no_backend_and_no_sdk():
    assert sources("cli")
    assert offenders("cli", SDKS | {"topwords.backends", "h11"}) == {}


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["run", "--help"],
                                  ["local", "--help"]])
def test_help_and_version_load_no_sdk_and_only_the_backends_commands(argv):
    probe = ("import sys\n"
             "from topwords.cli.main import main\n"
             "try:\n"
             f"    main({argv!r})\n"
             "except SystemExit:\n"
             "    pass\n"
             "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    loaded = set(done.stderr.split())
    assert "topwords.backends.local.commands" in loaded  # the probe saw the parser built
    assert {m for m in loaded if m.split(".")[0] in SDKS | {"h11"}} == set()
    assert {m for m in loaded if m.startswith("topwords.backends.")} == {
        "topwords.backends.azure", "topwords.backends.azure.commands",
        "topwords.backends.local", "topwords.backends.local.commands",
        "topwords.backends.local.runtime"}


def test_workloads_import_only_core_and_the_node_scripts():
    assert sources("workloads")
    assert offenders("workloads", SDKS | {"topwords.backends", "topwords.cli"}) == {}


def test_contract_suites_import_only_core():
    assert sources("testing")
    assert offenders("testing", SDKS | {"topwords.backends", "topwords.cli",
                                        "topwords.workloads", "topwords.node"}) == {}


def test_azure_backend_does_not_import_the_local_backend():
    assert offenders("backends/azure", {"topwords.backends.local", "topwords.cli"}) == {}


def test_local_backend_does_not_import_the_cli():
    assert offenders("backends/local", {"topwords.cli"}) == {}


def test_node_task_uses_only_the_standard_library():
    used = {name.split(".")[0] for name in imports_of(REPO / "node" / "task.py")}
    assert used <= set(sys.stdlib_module_names) | {"__future__"}, used


def test_only_the_docker_boundaries_import_the_docker_sdk():
    """Node containers (docker_node) and the containers of container tasks
    beside them (container_task): the two modules that translate Docker's
    errors; nothing else in the local backend imports docker."""
    importers = {p.name for p in sources("backends/local")
                 if any(n.split(".")[0] == "docker" for n in imports_of(p))}
    assert importers == {"docker_node.py", "container_task.py"}


@pytest.mark.parametrize("line,expected", [
    ("from .errors import X", "topwords.core.errors"),
    ("from ..core import X", "topwords.core"),
    ("import docker.errors", "docker.errors"),
])
def test_imports_of_resolves_relative_imports(tmp_path, line, expected):
    probe = tmp_path / "probe.py"
    probe.write_text(line + "\n", encoding="utf-8")
    assert expected in imports_of(probe, package="topwords.core")


def test_batch_engine_interface_imports_only_core_and_the_records():
    """The interface the emulator depends on is not the engine: it needs no
    runtime, no Docker and no engine module."""
    used = {n for n in imports_of(REPO / "backends" / "local" / "batch_engine.py")
            if n.startswith("topwords.")}
    assert used <= {"topwords.core.compute", "topwords.core.errors", "topwords.core.model",
                    "topwords.backends.local.files", "topwords.backends.local.records"}, used
