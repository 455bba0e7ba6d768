"""AzureBlobStorage against Azurite: what the contract suite cannot see
(timeouts, SAS credentials, logging)."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from azure.core.credentials import AzureSasCredential

from topwords.backends.azure.blob_storage import AzureBlobStorage, BlobStorageConfig
from topwords.backends.local.azurite import AZURITE_ACCOUNT, storage_for
from topwords.core.errors import StorageAuthError, StorageError


def test_closed_port_fails_in_seconds_not_minutes():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with storage_for(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}") as storage:
        with pytest.raises(StorageError) as caught:
            storage.list_blobs("c")
    assert time.monotonic() - started < 6  # the SDK's defaults take ~84 s
    assert "refused" in str(caught.value).lower()


@pytest.fixture
def sas_storage(azurite, unique_name):
    """(storage with the account key, storage holding only a cw SAS of one container)."""
    with azurite.storage() as owner:
        container = unique_name()
        owner.create_container(container)
        sas = owner.container_write_url(container).split("?", 1)[1]
        limited = AzureBlobStorage(BlobStorageConfig(
            account_url=azurite.blob_url, account_name=AZURITE_ACCOUNT,
            credential=AzureSasCredential(sas)))
        with limited:
            yield owner, limited, container, sas
        owner.delete_container(container)


@pytest.mark.azurite
def test_sas_credential_refused_operation_message_has_no_signature(sas_storage):
    _, limited, container, sas = sas_storage
    signature = sas.split("sig=")[1].split("&")[0]
    with pytest.raises(StorageAuthError) as caught:
        limited.list_blobs(container)
    assert "403" in str(caught.value)
    assert signature not in str(caught.value) and "sig=" not in str(caught.value)


@pytest.mark.azurite
def test_sas_credential_can_upload_but_not_sign(sas_storage, tmp_path):
    owner, limited, container, _ = sas_storage
    source = tmp_path / "x.txt"
    source.write_text("via sas")
    limited.upload_file(container, "x.txt", source)
    assert owner.list_blobs(container) == ["x.txt"]
    with pytest.raises(StorageError, match="cannot sign"):
        limited.blob_read_url(container, "x.txt")


@pytest.mark.azurite
def test_debug_logging_never_shows_signatures(sas_storage, tmp_path, caplog):
    _, limited, container, sas = sas_storage
    signature = sas.split("sig=")[1].split("&")[0]
    source = tmp_path / "x.txt"
    source.write_text("x")
    with caplog.at_level(logging.DEBUG):
        limited.upload_file(container, "x.txt", source)
    assert "PUT" in caplog.text  # urllib3 did log the request
    assert signature not in caplog.text
