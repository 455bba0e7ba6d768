"""The Storage contract: what every :class:`~topwords.core.storage.Storage`
must do, written only against the interface and plain HTTP (urllib, no SDK),
so the SAS checks see what a compute node would see.

Run it on a storage by subclassing :class:`StorageContract` where a
``storage_target`` fixture (class scope or wider) returns a
:class:`~topwords.testing.targets.StorageTarget`::

    import pytest
    from topwords.testing import StorageContract, StorageTarget

    @pytest.fixture(scope="class")
    def storage_target():
        with MyStorage(...) as storage:
            yield StorageTarget("mine", storage)

    class TestMyStorage(StorageContract):
        pass

Permission failures are asserted as "403", not as a service's error code
(Azurite and Azure use different codes). Tests that need live SAS URLs
require ``serves_sas_urls``.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote

import pytest

from topwords.core.errors import BlobNotFound, StorageError
from topwords.core.storage import Storage

from .targets import StorageTarget, requires, skip_unclaimed

__all__ = ["StorageContract"]

NAMES = ["plain.txt", "with space.txt", "jaźń…/plik ü.txt", "a/b/c.txt"]


def http(method: str, url: str, data: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One raw HTTP request: (status, body), errors included."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def put_blob(url: str, data: bytes) -> int:
    return http("PUT", url, data, {"x-ms-blob-type": "BlockBlob"})[0]


def container_url(storage: Storage, container: str) -> str:
    """The container's URL without any query string."""
    return storage.container_write_url(container).split("?", 1)[0]


def blob_url(storage: Storage, container: str, blob_name: str) -> str:
    return f"{container_url(storage, container)}/{quote(blob_name)}"


def sas_of(url: str) -> str:
    return url.split("?", 1)[1]


def read_blob(storage: Storage, container: str, name: str, tmp_path: Path) -> bytes:
    target = tmp_path / "read" / "blob.bin"
    storage.download_file(container, name, target)
    return target.read_bytes()


class StorageContract:
    """The Storage contract as a pytest test class to subclass (see the
    module docstring); needs a ``storage_target`` fixture."""

    @pytest.fixture(autouse=True)
    def _claimed(self, request: pytest.FixtureRequest, storage_target: StorageTarget) -> None:
        skip_unclaimed(storage_target, request.function)

    @pytest.fixture
    def storage(self, storage_target: StorageTarget) -> Storage:
        return storage_target.storage

    @pytest.fixture
    def unique_name(self, storage: Storage) -> Iterator[Callable[..., str]]:
        """A factory of container names no other test (or run) uses; every
        name it returned is deleted after the test."""
        names: list[str] = []

        def make(prefix: str = "ct") -> str:
            names.append(f"{prefix}-{uuid.uuid4().hex[:12]}")
            return names[-1]
        yield make
        for name in names:
            storage.delete_container(name)

    @pytest.fixture
    def container(self, storage: Storage, unique_name: Callable[..., str]) -> str:
        """A fresh, empty container (deleted after the test)."""
        name = unique_name()
        storage.create_container(name)
        return name

    @pytest.fixture
    def upload(self, storage: Storage, container: str, tmp_path: Path):
        """upload(name, data) -> puts ``data`` as blob ``name`` in ``container``."""
        def upload_(name: str, data: bytes, into: str = container) -> None:
            source = tmp_path / "upload.bin"
            source.write_bytes(data)
            storage.upload_file(into, name, source)
        return upload_

    # -- containers ----------------------------------------------------------

    def test_create_container_twice_keeps_existing_blobs(self, storage, container, upload):
        upload("kept.txt", b"x")
        storage.create_container(container)
        assert storage.list_blobs(container) == ["kept.txt"]

    def test_delete_container_removes_it_and_its_blobs(self, storage, container, upload):
        upload("gone.txt", b"x")
        storage.delete_container(container)
        with pytest.raises(BlobNotFound):
            storage.list_blobs(container)

    def test_delete_container_missing_is_not_an_error(self, storage, unique_name):
        name = unique_name()
        storage.delete_container(name)
        storage.delete_container(name)

    # -- upload / download -----------------------------------------------------

    @pytest.mark.parametrize("name", NAMES)
    def test_upload_download_round_trip_keeps_bytes(self, storage, container, upload, tmp_path,
                                                     name):
        data = "zażółć gęślą jaźń\n".encode() + bytes(range(256))
        upload(name, data)
        assert read_blob(storage, container, name, tmp_path) == data
        assert storage.list_blobs(container) == [name]

    def test_upload_empty_file_round_trips(self, storage, container, upload, tmp_path):
        upload("empty.txt", b"")
        assert read_blob(storage, container, "empty.txt", tmp_path) == b""

    def test_upload_large_file_round_trips(self, storage, container, upload, tmp_path):
        data = os.urandom(5 * 1024 * 1024 + 123)  # more than one block
        upload("big.bin", data)
        assert read_blob(storage, container, "big.bin", tmp_path) == data

    def test_upload_existing_blob_replaces_it(self, storage, container, upload, tmp_path):
        upload("x.txt", b"first version, longer")
        upload("x.txt", b"second")
        assert read_blob(storage, container, "x.txt", tmp_path) == b"second"

    def test_download_file_creates_parent_directories(self, storage, container, upload, tmp_path):
        upload("x.txt", b"x")
        target = tmp_path / "deep" / "er" / "x.txt"
        storage.download_file(container, "x.txt", target)
        assert target.read_bytes() == b"x"

    # -- listing -------------------------------------------------------------

    def test_list_blobs_returns_sorted_names(self, storage, container, upload):
        for name in ["b.txt", "a/z.txt", "c", "a/a.txt", "B.txt"]:
            upload(name, b"x")
        assert storage.list_blobs(container) == ["B.txt", "a/a.txt", "a/z.txt", "b.txt", "c"]

    def test_list_blobs_with_prefix_returns_only_matches(self, storage, container, upload):
        for name in ["in/1.txt", "in/2.txt", "out/1.txt", "inner.txt"]:
            upload(name, b"x")
        assert storage.list_blobs(container, "in/") == ["in/1.txt", "in/2.txt"]
        assert storage.list_blobs(container, "nothing") == []

    def test_list_blobs_empty_container_returns_empty_list(self, storage, container):
        assert storage.list_blobs(container) == []

    # -- missing things --------------------------------------------------------

    def test_list_blobs_missing_container_raises_blob_not_found(self, storage, unique_name):
        with pytest.raises(BlobNotFound):
            storage.list_blobs(unique_name())

    def test_download_missing_blob_raises_file_not_found(self, storage, container, tmp_path):
        target = tmp_path / "never.txt"
        with pytest.raises(FileNotFoundError) as caught:
            storage.download_file(container, "never.txt", target)
        assert isinstance(caught.value, BlobNotFound)
        assert not target.exists()

    def test_download_from_missing_container_raises_blob_not_found(self, storage, unique_name,
                                                                   tmp_path):
        with pytest.raises(BlobNotFound):
            storage.download_file(unique_name(), "x.txt", tmp_path / "x.txt")

    def test_upload_to_missing_container_raises_blob_not_found(self, storage, unique_name,
                                                               tmp_path):
        source = tmp_path / "x.txt"
        source.write_text("x")
        with pytest.raises(BlobNotFound):
            storage.upload_file(unique_name(), "x.txt", source)

    def test_failing_operation_message_names_target_without_secrets(self, storage, container,
                                                                     tmp_path):
        storage.blob_read_url(container, "x.txt")  # SAS signed before the failure
        with pytest.raises(StorageError) as caught:
            storage.download_file(container, "missing-blob.txt", tmp_path / "x")
        message = str(caught.value)
        assert "missing-blob.txt" in message
        assert "sig=" not in message and "sv=" not in message

    # -- bulk helpers ------------------------------------------------------------

    def test_download_container_writes_nested_paths(self, storage, container, upload, tmp_path):
        for name in ["a/b/c.txt", "top.txt", "jaźń…/plik ü.txt"]:
            upload(name, name.encode())
        out = tmp_path / "out"
        written = storage.download_container(container, out)
        assert written == [out / "a/b/c.txt", out / "jaźń…/plik ü.txt", out / "top.txt"]
        assert all(path.read_bytes() == path.relative_to(out).as_posix().encode()
                   for path in written)

    def test_download_container_with_prefix_downloads_only_matches(self, storage, container,
                                                                   upload,
                                                                   tmp_path):
        upload("keep/1.txt", b"1")
        upload("skip/2.txt", b"2")
        written = storage.download_container(container, tmp_path / "out", prefix="keep/")
        assert written == [tmp_path / "out" / "keep" / "1.txt"]
        assert not (tmp_path / "out" / "skip").exists()

    def test_upload_files_uploads_every_pair(self, storage, container, tmp_path):
        pairs = []
        for i in range(12):
            path = tmp_path / f"f{i}.txt"
            path.write_text(str(i))
            pairs.append((path, f"in/f{i:02}.txt"))
        storage.upload_files(container, pairs)
        assert storage.list_blobs(container) == sorted(name for _, name in pairs)

    @pytest.mark.parametrize("evil", ["../evil.txt", "a/../../x"])
    @requires("serves_sas_urls")
    def test_download_container_with_escaping_blob_name_writes_nothing(
            self, storage, container, upload, tmp_path, evil):
        upload("good.txt", b"good")
        # SDKs normalise "..": percent-encoded dots reach the service unchanged.
        write = storage.container_write_url(container)
        encoded = "/".join("%2E%2E" if part == ".." else quote(part) for part in evil.split("/"))
        assert put_blob(f"{write.split('?')[0]}/{encoded}?{sas_of(write)}", b"evil") == 201
        assert evil in storage.list_blobs(container)
        target = tmp_path / "sandbox" / "out"
        target.mkdir(parents=True)
        with pytest.raises(StorageError):
            storage.download_container(container, target)
        assert [p for p in (tmp_path / "sandbox").rglob("*") if p.is_file()] == []

    # -- read SAS ------------------------------------------------------------

    @requires("serves_sas_urls")
    def test_blob_read_url_reads_its_blob(self, storage, container, upload):
        upload("dir/read me.txt", b"secret words")
        status, body = http("GET", storage.blob_read_url(container, "dir/read me.txt"))
        assert (status, body) == (200, b"secret words")

    @requires("serves_sas_urls")
    def test_blob_read_url_on_other_blob_is_refused(self, storage, container, upload):
        upload("mine.txt", b"mine")
        upload("other.txt", b"other")
        sas = sas_of(storage.blob_read_url(container, "mine.txt"))
        assert http("GET", f"{blob_url(storage, container, 'other.txt')}?{sas}")[0] == 403

    @requires("serves_sas_urls")
    def test_blob_read_url_cannot_list_or_write(self, storage, container, upload):
        upload("mine.txt", b"mine")
        url = storage.blob_read_url(container, "mine.txt")
        listing = f"{container_url(storage, container)}?restype=container&comp=list&{sas_of(url)}"
        assert http("GET", listing)[0] == 403
        assert put_blob(url, b"overwritten") == 403

    @requires("serves_sas_urls")
    def test_blob_read_url_expired_is_refused(self, storage, container, upload):
        upload("mine.txt", b"mine")
        url = storage.blob_read_url(container, "mine.txt", expiry=timedelta(seconds=1))
        time.sleep(2.5)
        assert http("GET", url)[0] == 403

    # -- write SAS -----------------------------------------------------------

    @requires("serves_sas_urls")
    def test_container_write_url_creates_and_overwrites_blobs(self, storage, container, tmp_path):
        write = storage.container_write_url(container)
        url = f"{blob_url(storage, container, 'out/result ü.txt')}?{sas_of(write)}"
        assert put_blob(url, b"first") == 201
        assert put_blob(url, b"second") == 201
        assert read_blob(storage, container, "out/result ü.txt", tmp_path) == b"second"

    @requires("serves_sas_urls")
    def test_container_write_url_cannot_read_list_or_delete(self, storage, container, upload):
        upload("existing.txt", b"x")
        sas = sas_of(storage.container_write_url(container))
        blob = blob_url(storage, container, "existing.txt")
        assert http("GET", f"{blob}?{sas}")[0] == 403
        assert http("GET", f"{container_url(storage, container)}?restype=container&comp=list&{sas}"
                    )[0] == 403
        assert http("DELETE", f"{blob}?{sas}")[0] == 403
        assert storage.list_blobs(container) == ["existing.txt"]

    @requires("serves_sas_urls")
    def test_container_write_url_on_other_container_is_refused(self, storage, container,
                                                               unique_name):
        other = unique_name()
        storage.create_container(other)
        sas = sas_of(storage.container_write_url(container))
        assert put_blob(f"{blob_url(storage, other, 'x.txt')}?{sas}", b"x") == 403
        assert storage.list_blobs(other) == []

    @requires("serves_sas_urls")
    def test_blob_write_url_creates_and_overwrites_its_blob(self, storage, container, tmp_path):
        url = storage.blob_write_url(container, "out/result ü.txt")
        assert put_blob(url, b"first") == 201
        assert put_blob(url, b"second") == 201
        assert read_blob(storage, container, "out/result ü.txt", tmp_path) == b"second"

    @requires("serves_sas_urls")
    def test_blob_write_url_reaches_no_other_blob_and_cannot_read(self, storage, container,
                                                                  upload):
        upload("theirs.txt", b"theirs")
        sas = sas_of(storage.blob_write_url(container, "mine.txt"))
        theirs = blob_url(storage, container, 'theirs.txt')
        assert put_blob(f"{theirs}?{sas}", b"overwritten") == 403
        assert put_blob(f"{blob_url(storage, container, 'new.txt')}?{sas}", b"planted") == 403
        assert put_blob(storage.blob_write_url(container, "mine.txt"), b"mine") == 201
        assert http("GET", storage.blob_write_url(container, "mine.txt"))[0] == 403
        assert http("GET", f"{container_url(storage, container)}?restype=container&comp=list&{sas}"
                    )[0] == 403
        assert storage.list_blobs(container) == ["mine.txt", "theirs.txt"]
