"""Settings of the local backend."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from topwords.core.errors import ConfigError
from topwords.core.settings import merge_settings

from .runtime import RUNTIMES

__all__ = ["DEFAULT_IMAGE", "LocalConfig"]

#: the image `topwords local build-image` builds offline
DEFAULT_IMAGE = "topwords-node:local"

_ENV = {
    "image": "TOPWORDS_LOCAL_IMAGE",
    "storage_url": "TOPWORDS_LOCAL_STORAGE_URL",
    "storage_key": "TOPWORDS_LOCAL_STORAGE_KEY",
    "work_dir": "TOPWORDS_LOCAL_WORK_DIR",
    "azurite_bin": "TOPWORDS_AZURITE_BIN",
    "node_runtime": "TOPWORDS_LOCAL_NODE_RUNTIME",
}


@dataclass(frozen=True, kw_only=True)
class LocalConfig:
    """How the local backend runs.

    Attributes:
        image: node image (any image with ``python3``, ``bash`` and ``sleep``).
        storage_url: blob endpoint of an Azurite that is already running
            (``http://127.0.0.1:10000/devstoreaccount1``); None starts a
            private Azurite (with a random key) for the run and stops it
            afterwards.
        storage_key: that Azurite's account key (default: Azurite's public
            development key, which an Azurite started with defaults takes).
        work_dir: host directory that holds the nodes' directories.
        azurite_bin: path of ``azurite-blob`` (default: found automatically).
        node_runtime: ``container`` (Docker containers, isolated) or
            ``process`` (plain host processes: no Docker, no isolation).
    """

    image: str = DEFAULT_IMAGE
    storage_url: str | None = None
    storage_key: str | None = field(default=None, repr=False)
    work_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "topwords-local")
    azurite_bin: str | None = None
    node_runtime: str = "container"

    def __post_init__(self) -> None:
        if self.node_runtime not in RUNTIMES:
            raise ConfigError(f"unknown node runtime {self.node_runtime!r}; choose one of: "
                              + ", ".join(RUNTIMES))
        if not self.image:
            raise ConfigError("the node image name is empty")
        if self.storage_url and not self.storage_url.startswith(("http://", "https://")):
            raise ConfigError(f"the Azurite URL must start with http:// or https://, "
                              f"got {self.storage_url!r}")
        object.__setattr__(self, "work_dir", Path(self.work_dir))

    @classmethod
    def from_env(cls, **explicit: object) -> "LocalConfig":
        """Settings from ``TOPWORDS_LOCAL_*`` variables; explicit values win.

        Raises:
            ConfigError: an unknown option or an invalid value.
        """
        return cls(**merge_settings(cls, explicit, _ENV, what="local backend"))
