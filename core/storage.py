"""The Storage interface: blob containers, blobs and SAS URLs.

A backend provides the abstract primitives; the concurrent bulk operations
the workflow uses are written once here on top of them. Blob names use ``/``
as separator and may contain any other character (spaces, non-ASCII).
"""

from __future__ import annotations

import abc
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .errors import TopwordsError
from .naming import safe_local_path

__all__ = ["Storage"]


class Storage(abc.ABC):
    """Blob storage with SAS URLs, as Azure Blob Storage provides it.

    Capability flags (class attributes) describe what differs between
    backends; the workflow reads them instead of checking types.

    Attributes:
        name: short backend name for messages.
        max_concurrency: parallel transfers in the bulk helpers.
    """

    name: str = "storage"
    max_concurrency: int = 8

    # -- primitives -----------------------------------------------------

    @abc.abstractmethod
    def create_container(self, container: str,
                         metadata: Mapping[str, str] | None = None) -> None:
        """Create a container.

        Args:
            container: container name (3-63 lowercase letters, digits, ``-``).
            metadata: name/value tags for a new container (e.g. the run id).
        Raises:
            StorageError: on failure; StorageAuthError if refused.
        Idempotent: yes (an existing container is left as it is).
        """

    @abc.abstractmethod
    def delete_container(self, container: str) -> None:
        """Delete a container and every blob in it.

        Raises:
            StorageError: on failure other than "does not exist".
        Idempotent: yes (a missing container is not an error).
        """

    @abc.abstractmethod
    def upload_file(self, container: str, blob_name: str, path: Path) -> None:
        """Upload a local file as a block blob, replacing any existing blob.

        Args:
            container: an existing container.
            blob_name: the blob's name.
            path: the local file (streamed, never read whole into memory).
        Raises:
            BlobNotFound: the container does not exist.
            StorageError: on any other failure.
        Idempotent: yes.
        """

    @abc.abstractmethod
    def download_file(self, container: str, blob_name: str, path: Path) -> None:
        """Download a blob to a local file (parent directories are created).

        Raises:
            BlobNotFound: the container or blob does not exist.
            StorageError: on any other failure.
        Idempotent: yes.
        """

    @abc.abstractmethod
    def list_blobs(self, container: str, prefix: str = "") -> list[str]:
        """Names of the blobs in a container whose names start with ``prefix``.

        Returns:
            The names, sorted.
        Raises:
            BlobNotFound: the container does not exist.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def blob_read_url(self, container: str, blob_name: str,
                      expiry: timedelta = timedelta(hours=2)) -> str:
        """A URL that lets its holder read this one blob, and nothing else.

        Args:
            expiry: how long the SAS stays valid from now.
        Returns:
            The blob URL with a read-only (``r``) SAS query string.
        Raises:
            StorageError: if no SAS can be signed.
        Idempotent: yes (no request is made; each call signs anew).
        """

    @abc.abstractmethod
    def blob_write_url(self, container: str, blob_name: str,
                       expiry: timedelta = timedelta(hours=2)) -> str:
        """A URL that lets its holder create or overwrite this one blob, and
        nothing else: a task given it cannot touch any other blob, not even
        read this one.

        Returns:
            The blob URL with a create+write (``cw``) SAS query string.
        Raises:
            StorageError: if no SAS can be signed.
        Idempotent: yes (no request is made; each call signs anew).
        """

    @abc.abstractmethod
    def container_write_url(self, container: str,
                            expiry: timedelta = timedelta(hours=2)) -> str:
        """A URL that lets its holder create and write blobs in the container.

        The SAS grants ``c`` and ``w`` only: no read, list or delete.

        Returns:
            The container URL with a write-only SAS query string.
        Raises:
            StorageError: if no SAS can be signed.
        Idempotent: yes.
        """

    def check_container(self, container: str) -> None:
        """A quick check that the service answers and still has ``container``.

        Raises:
            BlobNotFound: the container is gone.
            StorageError: the service does not answer.
        Idempotent: yes (read-only). The default lists the container;
        backends with a cheaper call (and shorter retries) override it.
        """
        self.list_blobs(container, prefix="\x7f")

    def close(self) -> None:
        """Release connections. Idempotent; the default does nothing."""

    # -- built on the primitives ----------------------------------------

    def upload_files(self, container: str,
                     items: Iterable[tuple[Path, str]]) -> None:
        """Upload ``(local path, blob name)`` pairs concurrently."""
        self._each(lambda item: self.upload_file(container, item[1], item[0]),
                   list(items))

    def download_container(self, container: str, directory: Path,
                           prefix: str = "") -> list[Path]:
        """Download every blob under ``prefix`` into ``directory``.

        Blob names map to paths below ``directory``; a name that would land
        outside it (``../x``, an absolute path) raises ``StorageError`` before
        anything is written.

        Returns:
            The local paths written, in blob-name order.
        """
        names = self.list_blobs(container, prefix)
        targets = [safe_local_path(directory, name) for name in names]
        self._each(lambda pair: self.download_file(container, pair[0], pair[1]),
                   list(zip(names, targets)))
        return targets

    def upload_blobs(self, container: str, blobs: Mapping[str, bytes]) -> None:
        """Upload small in-memory blobs (``name -> bytes``), concurrently."""
        import tempfile
        with tempfile.TemporaryDirectory(prefix="topwords-blobs-") as tmp:
            items = []
            for n, (name, data) in enumerate(blobs.items()):
                path = Path(tmp) / str(n)
                path.write_bytes(data)
                items.append((path, name))
            self.upload_files(container, items)

    def download_each(self, container: str,
                      items: Sequence[tuple[str, Path]]) -> dict[str, Exception]:
        """Download ``(blob name, local path)`` pairs concurrently; a failed
        one does not stop the others.

        Returns:
            Blob name -> the error, for each one that failed.
        """
        failed: dict[str, Exception] = {}

        def one(item: tuple[str, Path]) -> None:
            try:
                self.download_file(container, item[0], item[1])
            except TopwordsError as exc:
                failed[item[0]] = exc
        self._each(one, list(items))
        return failed

    def _each(self, fn, items: Sequence) -> None:
        if len(items) <= 1:
            for item in items:
                fn(item)
            return
        workers = min(self.max_concurrency, len(items))
        with ThreadPoolExecutor(workers, thread_name_prefix="storage") as pool:
            for future in [pool.submit(fn, item) for item in items]:
                future.result()

    def __enter__(self) -> "Storage":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
