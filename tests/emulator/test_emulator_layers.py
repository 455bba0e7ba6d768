"""The emulator is the standard library, h11 (its HTTP/1.1), the core model
and the local engine: it imports no Azure SDK (it must not depend on what it emulates),
no Docker SDK (the engine owns Docker) and not the CLI; its ``shapes`` are
pure (no I/O modules)."""

from __future__ import annotations

import ast
from pathlib import Path

EMULATOR = Path(__file__).resolve().parents[2] / "backends" / "local" / "emulator"


def absolute_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
    return names


#: the emulator's client side: the pytest plugin builds SDK clients *on* the
#: emulator, inside its fixtures only (importing the plugin loads no SDK)
CLIENT_SIDE = {"pytest_plugin.py": {"azure.batch", "azure.core.credentials",
                                    "azure.storage.blob"}}


def module_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
    return names


def test_emulator_imports_no_sdk_and_not_the_cli():
    sources = sorted(EMULATOR.rglob("*.py"))
    assert len(sources) > 5
    bad = {str(p.relative_to(EMULATOR)): sorted(
               n for n in absolute_imports(p) - CLIENT_SIDE.get(p.name, set())
               if n.split(".")[0] in ("azure", "docker") or n.startswith("topwords.cli"))
           for p in sources}
    assert {k: v for k, v in bad.items() if v} == {}


def test_pytest_plugin_imports_sdks_only_inside_fixtures():
    plugin = EMULATOR / "pytest_plugin.py"
    assert not {n for n in module_level_imports(plugin) if n.split(".")[0] in ("azure", "docker")}


def test_shapes_do_no_io():
    io_modules = {"socket", "http", "urllib.request", "subprocess", "os", "shutil",
                  "threading"}
    for path in sorted((EMULATOR / "shapes").glob("*.py")):
        assert not {n for n in absolute_imports(path) if n.split(".")[0] in io_modules
                    or n in io_modules}, path.name


def test_routes_are_made_only_in_the_route_table():
    """One table: no module but ``routes`` builds a ``Route`` (no
    registration by decorator or import side effect elsewhere)."""
    makers = set()
    for path in sorted(EMULATOR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Route":
                makers.add(path.name)
    assert makers == {"routes.py"}


def test_catalogue_and_routes_import_no_sdk():
    for name in ("catalogue.py", "routes.py"):
        assert not {n for n in absolute_imports(EMULATOR / name)
                    if n.split(".")[0] in ("azure", "docker")}, name


def test_emulator_depends_on_the_batch_engine_interface_not_the_engine():
    """Only ``service`` (which builds the engine it serves) names
    ``LocalBatchEngine``; handlers know the ``BatchEngine`` interface."""
    importers = {p.name for p in sorted(EMULATOR.rglob("*.py"))
                 if "topwords.backends.local.engine" in absolute_imports(p)
                 or "LocalBatchEngine" in p.read_text(encoding="utf-8")}
    assert importers == {"service.py"}
