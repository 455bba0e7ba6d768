"""The layering of STYLE.md holds (checked on the source, module by module):

    cli -> core <- backends/azure, backends/local
      `-> workloads -> core, node/          node/ talks to nothing.

core imports no SDK, no backend, no workload and no cli; workloads import
core and node/ only; the azure backend never imports the local one; node/
uses the standard library only; only one module of the local backend
touches the Docker SDK.
"""

from __future__ import annotations

import ast
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


def test_workloads_import_only_core_and_the_node_scripts():
    assert sources("workloads")
    assert offenders("workloads", SDKS | {"topwords.backends", "topwords.cli"}) == {}


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
