"""Setting up the local backend's machine: Docker daemon, Azurite, node image.

Each step is idempotent: it checks first and acts only when something is
missing. ``topwords local setup`` runs them all; ``topwords local
build-image`` runs the image build alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

from topwords.core.errors import ConfigError

from .config import DEFAULT_IMAGE

__all__ = ["build_image", "ensure_azurite", "ensure_docker", "ensure_image", "REPO_ROOT"]

#: the source checkout (editable installs), where package.json pins Azurite
REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "topwords"

Say = Callable[[str], None]


def _docker_answers() -> bool:
    return subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def ensure_docker(say: Say, timeout: float = 30.0) -> None:
    """Make sure a Docker daemon answers; start ``dockerd`` if we may.

    The daemon is started loopback-only: no bridge network, no iptables
    (containers use host networking).

    Raises:
        ConfigError: no Docker client, or no daemon and none can be started.
    """
    if shutil.which("docker") is None:
        raise ConfigError("the Docker client is not installed",
                          hint="install Docker (Debian: apt-get install docker.io)")
    if _docker_answers():
        say("docker: daemon answers")
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0 or os.environ.get("DOCKER_HOST"):
        raise ConfigError("no Docker daemon answers and this user cannot start one",
                          hint="start Docker (e.g. `sudo systemctl start docker`)")
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    log = STATE_DIR / "dockerd.log"
    with open(log, "ab") as out:
        subprocess.Popen([dockerd, "--bridge=none", "--iptables=false"], stdout=out,
                         stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not _docker_answers():
        if time.monotonic() > deadline:
            raise ConfigError(f"dockerd did not answer within {timeout:g} s", hint=f"see {log}")
        time.sleep(0.5)
    say(f"docker: started dockerd (log: {log})")


def ensure_azurite(say: Say) -> Path:
    """Install Azurite from the lock file (``npm ci``) if it is not there.

    Returns:
        The ``azurite-blob`` executable.
    Raises:
        ConfigError: npm is missing or the install failed.
    """
    binary = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if binary.exists():
        say(f"azurite: installed ({binary})")
        return binary
    if not (REPO_ROOT / "package-lock.json").exists():
        found = shutil.which("azurite-blob")
        if found:
            say(f"azurite: using {found}")
            return Path(found)
        raise ConfigError("Azurite is not installed", hint="npm install -g azurite@3, or "
                          "set TOPWORDS_AZURITE_BIN to its azurite-blob")
    if shutil.which("npm") is None:
        raise ConfigError("npm is needed to install Azurite", hint="install Node.js 18+ and npm")
    say("azurite: installing from package-lock.json (npm ci) ...")
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=REPO_ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0 or not binary.exists():
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"npm ci failed: {last}")
    say(f"azurite: installed ({binary})")
    return binary


def ensure_image(say: Say, image: str = DEFAULT_IMAGE) -> None:
    """Build the node image offline if Docker does not have it."""
    if subprocess.run(["docker", "image", "inspect", image], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode == 0:
        say(f"image: {image} is there")
        return
    if image != DEFAULT_IMAGE:
        raise ConfigError(f"node image {image!r} is not available to Docker",
                          hint=f"pull or build it, or use the default {DEFAULT_IMAGE}")
    build_image(say, image)


def build_image(say: Say, image: str = DEFAULT_IMAGE, suite: str = "bookworm") -> None:
    """Build a minimal Debian image with python3, offline (no registry).

    ``mmdebstrap`` builds a root filesystem from the machine's own apt
    sources and ``docker import`` turns it into an image (~20 s).

    Raises:
        ConfigError: mmdebstrap is missing or the build failed.
    """
    if shutil.which("mmdebstrap") is None:
        raise ConfigError("mmdebstrap is needed to build the node image offline",
                          hint="apt-get install mmdebstrap, or use an image with python3 "
                               "via TOPWORDS_LOCAL_IMAGE (e.g. python:3.12-slim)")
    say(f"image: building {image} from Debian {suite} packages (mmdebstrap) ...")
    start = time.monotonic()
    rootfs = subprocess.Popen(
        ["mmdebstrap", "--variant=apt", "--include=python3,ca-certificates", suite, "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    imported = subprocess.run(["docker", "import", "-", image], stdin=rootfs.stdout,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rootfs.stdout.close()
    errors = rootfs.stderr.read().decode(errors="replace")
    if rootfs.wait() != 0 or imported.returncode != 0:
        detail = (errors.strip() or imported.stderr.decode(errors="replace").strip())
        last = (detail.splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"building {image} failed: {last}")
    say(f"image: built {image} in {time.monotonic() - start:.0f} s")
