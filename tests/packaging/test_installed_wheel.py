"""topwords as a user installs it: build the sdist and, from it, the wheel;
install the wheel with its [local,azure] extras into a fresh virtualenv
outside the checkout; then, from an empty directory, do what the README's
"Install" section says: --version, local setup (a real npm ci of the lock
file shipped in the wheel, into a private cache), a run, the emulator, a
cleanup, and a pytest session of a project that only has a test file.

About 50 s on 2 cores with pip's and npm's download caches warm (build
~10 s, venv + pip ~10 s, npm ci ~18 s); every step has its own time limit.
Run with -s to see the timings.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import service_unavailable
from topwords.backends.local import azurite_npm

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

REPO = Path(__file__).resolve().parents[2]


@dataclass
class User:
    """A user's machine: a virtualenv with the wheel, an empty directory."""

    root: Path
    bin: Path
    work: Path
    env: dict[str, str]
    version: str
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, *argv: str | Path, timeout: float, step: str | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        started = time.monotonic()
        done = subprocess.run([str(a) for a in argv], cwd=cwd or self.work, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        if step:
            self.timings[step] = time.monotonic() - started
        return done

    def topwords(self, *args: str | Path, timeout: float = 120,
                 step: str | None = None) -> subprocess.CompletedProcess:
        return self.run(self.bin / "topwords", *args, timeout=timeout, step=step)


def checked(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"{done.args}:\n{done.stdout}\n{done.stderr}"
    return done


def user_environment(root: Path, venv_bin: Path) -> dict[str, str]:
    """The machine's environment without this checkout, its virtualenv or
    topwords settings; caches and state inside ``root``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOPWORDS_", "PYTEST_", "PYTHONPATH", "PYTHONHOME",
                                "VIRTUAL_ENV"))}
    outside = [p for p in env.get("PATH", "").split(os.pathsep)
               if p and not Path(p).resolve().is_relative_to(REPO)
               and Path(p).resolve() != Path(sys.prefix, "bin").resolve()]
    env["PATH"] = os.pathsep.join([str(venv_bin), *outside])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    env["PIP_CACHE_DIR"] = env.get("PIP_CACHE_DIR") or str(Path(cache) / "pip")  # pip's stays
    env.update(XDG_CACHE_HOME=str(root / "cache"), XDG_STATE_HOME=str(root / "state"),
               TOPWORDS_LOCAL_WORK_DIR=str(root / "nodes"))
    return env


@pytest.fixture(scope="module")
def user(tmp_path_factory, docker_client) -> User:
    for tool in ("npm", "node"):
        if shutil.which(tool) is None:
            service_unavailable(f"{tool} is not installed (the wheel's set-up needs it)")
    root = tmp_path_factory.mktemp("user")
    assert not root.resolve().is_relative_to(REPO)
    venv, work = root / "venv", root / "empty"
    work.mkdir()
    user = User(root=root, bin=venv / "bin", work=work,
                env=user_environment(root, venv / "bin"), version="")
    checked(user.run(sys.executable, "-m", "build", "--outdir", root / "dist", REPO,
                     timeout=300, step="build sdist + wheel", cwd=REPO))
    wheels = list((root / "dist").glob("topwords-*-py3-none-any.whl"))
    assert len(wheels) == 1 and len(list((root / "dist").glob("topwords-*.tar.gz"))) == 1
    user.version = wheels[0].name.split("-")[1]
    checked(user.run(sys.executable, "-m", "venv", venv, timeout=120, step="venv"))
    checked(user.run(user.bin / "python", "-m", "pip", "install", "--quiet",
                     f"{wheels[0]}[local,azure]", "pytest", timeout=300, step="pip install"))
    yield user
    print("\npackaging test timings: " + ", ".join(
        f"{step} {seconds:.1f} s" for step, seconds in user.timings.items()))


@pytest.fixture(scope="module")
def set_up(user: User) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    first = user.topwords("local", "setup", timeout=300, step="local setup (npm ci)")
    again = user.topwords("local", "setup", timeout=60, step="local setup again")
    return first, again


def test_version_is_the_wheels_and_comes_from_its_metadata(user):
    done = checked(user.topwords("--version"))
    assert done.stdout == f"topwords {user.version}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+\+g[0-9a-f]+(\.d\d{8})?)?", user.version)


def test_installed_package_holds_the_lock_files_and_no_checkout(user):
    probe = ("import topwords.backends.local.azurite_npm as a, sys\n"
             "print(a.LOCK_DIR)\nprint(a.install_dir().name)\n")
    lock_dir, install_name = checked(user.run(user.bin / "python", "-c", probe,
                                              timeout=30)).stdout.split()
    assert Path(lock_dir).is_relative_to(user.root / "venv")
    assert sorted(p.name for p in Path(lock_dir).glob("*.json")) == sorted(
        azurite_npm.LOCK_FILES)
    assert install_name == azurite_npm.install_dir().name  # the same pin as the checkout


def test_local_setup_installs_the_pinned_azurite_from_the_shipped_lock(user, set_up):
    first, again = set_up
    target = user.root / "cache" / "topwords" / azurite_npm.install_dir().name
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert lines[0] == "docker: daemon answers"
    assert lines[1] == (f"azurite: installing {azurite_npm.pinned_version()} from the pinned "
                        f"lock file (npm ci) into {target} ...")
    assert lines[2].startswith(f"azurite: installed {azurite_npm.pinned_version()} in ")
    assert lines[3:] == ["image: topwords-node:local is there", "local backend ready"]
    assert azurite_npm.installed_version(target) == "3.35.0"
    assert (target / azurite_npm.BINARY).is_file()
    version = checked(user.run(target / azurite_npm.BINARY, "--version", timeout=30))
    assert version.stdout.strip() == "3.35.0"
    assert again.returncode == 0, again.stderr
    assert f"azurite: 3.35.0 (pinned) is installed in {target}" in again.stderr
    assert "npm ci" not in again.stderr


def test_run_local_backend_from_an_empty_directory(user, set_up):
    inputs = user.root / "texts"
    inputs.mkdir()
    for text in sorted((REPO / "examples").glob("*.txt")):
        shutil.copy(text, inputs / text.name)
    files = sorted(inputs.glob("*.txt"))
    done = checked(user.topwords("run", "--backend", "local", "--quiet", "--top", "3",
                                 "--output-dir", "out", *files, step="tutorial run"))
    assert f"{len(files)} of {len(files)} input(s) succeeded on the local backend" in done.stdout
    outputs = sorted(p.name for p in (user.work / "out").iterdir())
    assert outputs == sorted(["GLOBAL_OUTPUT.txt", *(f"{f.stem}_OUTPUT.txt" for f in files)])


LIST_IMAGES = """
import shlex, sys
from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
env = dict(shlex.split(line)[1].split("=", 1) for line in sys.stdin)
client = BatchClient(env["TOPWORDS_BATCH_URL"], AzureNamedKeyCredential(
    env["TOPWORDS_BATCH_ACCOUNT"], env["TOPWORDS_BATCH_KEY"]))
print(sorted(i.node_agent_sku_id for i in client.list_supported_images()))
client.close()
"""


def test_emulator_serves_a_batch_client_then_stops_cleanly_on_sigterm(user, set_up):
    started = time.monotonic()
    proc = subprocess.Popen([user.bin / "topwords", "emulator"], cwd=user.work, env=user.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)  # a hung emulator must not hang the suite
    watchdog.start()
    try:
        exports = [proc.stdout.readline() for _ in range(6)]
        assert all(line.startswith("export TOPWORDS_") for line in exports), \
            exports + [proc.stderr.read() if proc.poll() is not None else ""]
        images = checked(subprocess.run([user.bin / "python", "-c", LIST_IMAGES],
                                        input="".join(exports), capture_output=True,
                                        text=True, env=user.env, timeout=60))
        assert "batch.node.ubuntu" in images.stdout
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    user.timings["emulator"] = time.monotonic() - started
    stderr = proc.stderr.read()
    assert proc.returncode == 130, stderr
    assert "SIGTERM: stopping and cleaning up" in stderr and "Traceback" not in stderr


def test_local_cleanup_from_an_empty_directory(user, set_up):
    done = checked(user.topwords("local", "cleanup", "--dry-run"))
    assert done.stderr.splitlines()[-1].endswith("folder(s) to remove")


def readme_example_test(name: str = "test_batch.py") -> str:
    """The README's example test file ``name`` (the ```python block that
    starts ``# <name>``, dedented: it may sit in a list item)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"( *)```python\n( *# {re.escape(name)}\n.*?)```", readme, re.DOTALL)
    assert found, f"README.md has no ```python block starting with '# {name}'"
    return textwrap.dedent(found.group(2))


MORE_USER_TESTS = '''
def test_blobs_and_ids(blob_service_client, batch_emulator, batch_unique_id):
    container = blob_service_client.create_container(batch_unique_id("data"))
    container.upload_blob("a.txt", b"words")
    assert container.download_blob("a.txt").readall() == b"words"
    assert batch_emulator.storage_url.startswith("http://127.0.0.1:")
'''


def test_user_project_with_only_a_test_file_passes_with_the_plugin(user, set_up):
    project = user.root / "project"
    project.mkdir()
    (project / "test_batch.py").write_text(readme_example_test() + MORE_USER_TESTS)
    (project / "test_storage_contract.py").write_text(
        readme_example_test("test_storage_contract.py"))
    done = user.run(user.bin / "python", "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                    cwd=project, timeout=180, step="user pytest session")
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed.group(1)) >= 2, done.stdout
    # the Storage contract, from the installed topwords.testing, on the emulator's Azurite
    contract = re.findall(r"^PASSED test_storage_contract\.py::TestStorageContract::",
                          done.stdout, re.MULTILINE)
    assert len(contract) >= 30, done.stdout
    assert not (project / "conftest.py").exists()
