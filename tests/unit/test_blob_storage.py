"""AzureBlobStorage without a service: config, error translation, SAS signing."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError,
                                   ResourceNotFoundError, ServiceRequestError,
                                   ServiceResponseError)
from azure.storage.blob import UserDelegationKey

from topwords.backends.azure import blob_storage
from topwords.backends.azure.blob_storage import AzureBlobStorage, BlobStorageConfig, _translate
from topwords.core.errors import BlobNotFound, ConfigError, StorageAuthError, StorageError

KEY = base64.b64encode(b"k" * 64).decode()
SECRET_URL = "https://acct.blob.core.windows.net/c/b.txt?sv=2026&sp=r&sig=S3CRET%2B"


class FakeTokenCredential:
    def get_token(self, *scopes, **kwargs):  # pragma: no cover - never called
        raise AssertionError("no request is made in these tests")


def config(**overrides) -> BlobStorageConfig:
    values = dict(account_url="https://acct.blob.core.windows.net", account_name="acct",
                  account_key=KEY)
    values.update(overrides)
    return BlobStorageConfig(**values)


# -- config --------------------------------------------------------------

@pytest.mark.parametrize("overrides", [
    {"account_url": ""},
    {"account_name": ""},
    {"account_url": "ftp://acct.blob.core.windows.net"},
    {"account_url": "acct.blob.core.windows.net"},
    {"account_key": None},
    {"timeout": 0},
])
def test_config_invalid_value_raises_config_error(overrides):
    with pytest.raises(ConfigError):
        config(**overrides)


def test_config_repr_hides_key_and_credential():
    text = repr(config(credential=FakeTokenCredential()))
    assert KEY not in text and "FakeTokenCredential" not in text


def test_config_positional_arguments_are_refused():
    with pytest.raises(TypeError):
        BlobStorageConfig("https://acct.blob.core.windows.net", "acct", KEY)  # type: ignore


def test_config_from_env_reads_variables_and_explicit_wins(monkeypatch):
    monkeypatch.setenv("TOPWORDS_STORAGE_URL", "http://127.0.0.1:10000/devstoreaccount1/")
    monkeypatch.setenv("TOPWORDS_STORAGE_KEY", KEY)
    monkeypatch.delenv("TOPWORDS_STORAGE_ACCOUNT", raising=False)
    from_env = BlobStorageConfig.from_env()
    assert from_env.account_url == "http://127.0.0.1:10000/devstoreaccount1"
    assert from_env.account_name == "devstoreaccount1"
    assert from_env.account_key == KEY
    explicit = BlobStorageConfig.from_env(account_url="https://other.blob.core.windows.net",
                                          account_name=None)
    assert explicit.account_name == "other"


def test_config_from_env_without_key_uses_default_credential(monkeypatch):
    monkeypatch.setenv("TOPWORDS_STORAGE_URL", "https://acct.blob.core.windows.net")
    monkeypatch.delenv("TOPWORDS_STORAGE_KEY", raising=False)
    monkeypatch.delenv("TOPWORDS_STORAGE_ACCOUNT", raising=False)
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", FakeTokenCredential)
    result = BlobStorageConfig.from_env()
    assert isinstance(result.credential, FakeTokenCredential)
    assert result.account_key is None


# -- the exception boundary ------------------------------------------------

def http_error(cls, status: int, code: str | None = None):
    exc = cls(message=f"request to {SECRET_URL} failed: Signature did not match")
    exc.status_code, exc.error_code = status, code
    return exc


@pytest.mark.parametrize("raised, expected", [
    (http_error(ResourceNotFoundError, 404, "BlobNotFound"), BlobNotFound),
    (http_error(ClientAuthenticationError, 403, "AuthenticationFailed"), StorageAuthError),
    (http_error(HttpResponseError, 403, "AuthorizationPermissionMismatch"), StorageAuthError),
    (http_error(HttpResponseError, 500, "InternalError"), StorageError),
    (ServiceRequestError(f"Max retries exceeded with url: {SECRET_URL} (refused)"), StorageError),
    (ServiceResponseError(f"Connection aborted while reading {SECRET_URL}"), StorageError),
    (OSError(28, "No space left on device"), StorageError),
])
def test_translate_sdk_error_gives_project_error_without_secret(raised, expected):
    with pytest.raises(expected) as caught:
        with _translate("downloading blob 'b.txt' from container 'c'"):
            raise raised
    message = str(caught.value)
    assert type(caught.value) is expected
    assert caught.value.__cause__ is raised
    assert "'b.txt'" in message and "'c'" in message
    assert "S3CRET" not in message and "sig=" not in message


def test_translate_http_error_names_status_and_code():
    with pytest.raises(BlobNotFound, match=r"\(404 ContainerNotFound\)"):
        with _translate("listing blobs in container 'c'"):
            raise http_error(ResourceNotFoundError, 404, "ContainerNotFound")


def test_translate_not_found_is_also_file_not_found():
    with pytest.raises(FileNotFoundError):
        with _translate("x"):
            raise http_error(ResourceNotFoundError, 404, "BlobNotFound")


def test_translate_project_error_passes_unchanged():
    original = StorageError("already translated")
    with pytest.raises(StorageError) as caught:
        with _translate("x"):
            raise original
    assert caught.value is original


# -- SAS signing -----------------------------------------------------------

def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_blob_read_url_with_key_is_read_only_https_and_starts_in_past():
    with AzureBlobStorage(config()) as storage:
        url = storage.blob_read_url("c", "dir/a b.txt", expiry=timedelta(hours=1))
    q = query(url)
    assert url.startswith("https://acct.blob.core.windows.net/c/dir/a%20b.txt?")
    assert (q["sp"], q["sr"], q["spr"]) == ("r", "b", "https")
    now = datetime.now(timezone.utc)
    start = datetime.fromisoformat(q["st"].replace("Z", "+00:00"))
    expiry = datetime.fromisoformat(q["se"].replace("Z", "+00:00"))
    assert start < now - timedelta(minutes=1)
    assert abs(expiry - (now + timedelta(hours=1))) < timedelta(minutes=1)


def test_container_write_url_with_key_grants_create_write_only():
    with AzureBlobStorage(config()) as storage:
        q = query(storage.container_write_url("out"))
    assert (q["sp"], q["sr"]) == ("cw", "c")


def test_sas_with_non_positive_expiry_raises_storage_error():
    with AzureBlobStorage(config()) as storage, pytest.raises(StorageError):
        storage.blob_read_url("c", "b", expiry=timedelta(0))


@pytest.fixture
def token_storage(monkeypatch):
    """Storage with a token credential whose delegation key requests are counted."""
    storage = AzureBlobStorage(config(account_key=None, credential=FakeTokenCredential()))
    requests: list[tuple[datetime, datetime]] = []

    def get_user_delegation_key(start, expiry, **kwargs):
        requests.append((start, expiry))
        key = UserDelegationKey()
        key.signed_oid, key.signed_tid = "oid-1", "tid-1"
        key.signed_start, key.signed_expiry = "2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z"
        key.signed_service, key.signed_version = "b", "2025-01-05"
        key.value = base64.b64encode(b"d" * 32).decode()
        return key

    monkeypatch.setattr(storage._service, "get_user_delegation_key", get_user_delegation_key)
    storage.key_requests = requests
    yield storage
    storage.close()


def test_token_credential_sas_uses_one_cached_delegation_key(token_storage):
    read = token_storage.blob_read_url("c", "b.txt")
    token_storage.container_write_url("out")
    token_storage.blob_read_url("c", "other.txt")
    assert len(token_storage.key_requests) == 1
    assert query(read)["skoid"] == "oid-1" and query(read)["sp"] == "r"


def test_token_credential_sas_past_cached_key_requests_new_key(token_storage):
    token_storage.blob_read_url("c", "b.txt", expiry=timedelta(hours=2))
    token_storage.blob_read_url("c", "b.txt", expiry=timedelta(days=3))
    assert len(token_storage.key_requests) == 2
    start, expiry = token_storage.key_requests[1]
    assert expiry - start <= blob_storage.MAX_DELEGATION_KEY_LIFETIME + blob_storage.CLOCK_SKEW


def test_token_credential_sas_longer_than_seven_days_raises(token_storage):
    with pytest.raises(StorageError, match="7 days"):
        token_storage.blob_read_url("c", "b.txt", expiry=timedelta(days=8))


def test_sas_without_key_or_token_credential_raises_storage_error():
    from azure.core.credentials import AzureSasCredential
    storage = AzureBlobStorage(config(account_key=None, credential=AzureSasCredential("sv=x")))
    with storage, pytest.raises(StorageError, match="cannot sign"):
        storage.container_write_url("out")
