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

from . import azurite_npm
from .azurite import find_azurite_binary
from .config import DEFAULT_IMAGE

__all__ = ["build_image", "ensure_azurite", "ensure_docker", "ensure_image"]

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
    state_dir = azurite_npm.cache_root()
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "dockerd.log"
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
    """Install the pinned Azurite (``npm ci`` of the lock file shipped in
    ``azurite_npm/``) into the user's cache if it is not there.

    ``TOPWORDS_AZURITE_BIN``, when set, is used instead (nothing is
    installed). Without npm, an ``azurite-blob`` on ``PATH`` is used.

    Returns:
        The ``azurite-blob`` executable.
    Raises:
        ConfigError: Node.js or npm is missing (and no Azurite is on PATH),
            or the install failed.
    Idempotent: yes.
    """
    version = azurite_npm.pinned_version()
    if os.environ.get("TOPWORDS_AZURITE_BIN"):
        binary = find_azurite_binary()
        say(f"azurite: using TOPWORDS_AZURITE_BIN ({binary}); the pinned {version} is "
            "not installed")
        return binary
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    binary = azurite_npm.installed_binary()
    if binary is not None and "node" not in missing:
        say(f"azurite: {version} (pinned) is installed in {binary.parents[2]}")
        return binary
    if missing:
        found = shutil.which("azurite-blob")
        if found and "node" not in missing:
            say(f"azurite: npm is missing, so using {found} from PATH (not the pinned "
                f"{version})")
            return Path(found)
        raise ConfigError(f"Azurite {version} needs Node.js and npm: {' and '.join(missing)} "
                          "not found", hint="install Node.js 18+ with npm (Debian: apt-get "
                          "install nodejs npm), or set TOPWORDS_AZURITE_BIN to an azurite-blob")
    target = azurite_npm.install_dir()
    say(f"azurite: installing {version} from the pinned lock file (npm ci) into {target} ...")
    started = time.monotonic()
    binary = azurite_npm.install(shutil.which("npm"))
    installed = azurite_npm.installed_version(target) or "?"
    say(f"azurite: installed {installed} in {time.monotonic() - started:.0f} s ({binary})")
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
