"""Azure Blob Storage behind the :class:`~topwords.core.storage.Storage` interface.

The local backend uses this same class against Azurite (only the endpoint
and the well-known dev account differ), so the Azure storage path is tested
offline.

Differences from the interface worth knowing:

* Requests use the account key when one is configured, else the token
  credential; SAS URLs are signed with the key, or with a user delegation
  key (cached until shortly before it expires) when there is no key.
* Retries and timeouts are deliberately short (a refused connection fails in
  about a second instead of the SDK's ~84 s); see :func:`_retry_policy`.
* Every SDK exception is translated at one boundary, :func:`_translate`;
  messages never carry a SAS, signature or key.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

import requests
from azure.core.exceptions import (AzureError, ClientAuthenticationError,
                                   HttpResponseError, ResourceExistsError,
                                   ResourceNotFoundError, ServiceResponseTimeoutError)
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import (BlobSasPermissions, BlobServiceClient,
                                ContainerSasPermissions, ExponentialRetry,
                                generate_blob_sas, generate_container_sas)
from urllib3.util.retry import Retry

from topwords.core.errors import (BackendUnavailable, BlobNotFound, ConfigError,
                                  StorageAuthError, StorageError, StorageTimeout,
                                  TopwordsError,
                                  redact_url)
from topwords.core.settings import merge_settings
from topwords.core.storage import Storage

from .config import account_from_url

__all__ = ["AzureBlobStorage", "BlobStorageConfig"]

#: SAS start times lie this far in the past, for clocks that run behind.
CLOCK_SKEW = timedelta(minutes=5)
#: A user delegation key may live at most 7 days (service limit).
MAX_DELEGATION_KEY_LIFETIME = timedelta(days=7)
_BLOCK_SIZE = 4 * 1024 * 1024
#: BlobStorageConfig field -> environment variable
_ENV = {"account_url": "TOPWORDS_STORAGE_URL", "account_name": "TOPWORDS_STORAGE_ACCOUNT",
        "account_key": "TOPWORDS_STORAGE_KEY"}


@dataclass(frozen=True, kw_only=True)
class BlobStorageConfig:
    """How to reach one storage account.

    Attributes:
        account_url: blob endpoint, ``https://<account>.blob.core.windows.net``
            or path-style ``http://127.0.0.1:<port>/devstoreaccount1``.
        account_name: the storage account name.
        account_key: shared key; used for requests and for signing SAS URLs.
        credential: any credential azure-storage-blob accepts, used when there
            is no key (a TokenCredential also signs SAS URLs through a user
            delegation key).
        timeout: seconds to wait on one socket read (connects wait at most 10).
    """

    account_url: str
    account_name: str
    account_key: str | None = field(default=None, repr=False)
    credential: object | None = field(default=None, repr=False)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.account_url:
            raise ConfigError("the storage account URL is empty",
                              hint="set TOPWORDS_STORAGE_URL")
        if urlsplit(self.account_url).scheme not in ("http", "https"):
            raise ConfigError(f"the storage account URL {redact_url(self.account_url)!r} "
                              "is not an http(s) URL")
        if not self.account_name:
            raise ConfigError("the storage account name is empty",
                              hint="set TOPWORDS_STORAGE_ACCOUNT")
        if not self.account_key and self.credential is None:
            raise ConfigError(f"no credential for storage account {self.account_name!r}",
                              hint="set TOPWORDS_STORAGE_KEY or log in for azure-identity")
        if not self.timeout > 0:
            raise ConfigError(f"the storage timeout must be positive, not {self.timeout}")
        object.__setattr__(self, "account_url", self.account_url.rstrip("/"))

    @classmethod
    def from_env(cls, **explicit: Any) -> "BlobStorageConfig":
        """Build a config from ``TOPWORDS_STORAGE_URL``, ``TOPWORDS_STORAGE_ACCOUNT``
        and ``TOPWORDS_STORAGE_KEY``; explicit (non-None) arguments win.

        Without a key or credential it uses ``DefaultAzureCredential``.

        Raises:
            ConfigError: a setting is missing or invalid.
            BackendUnavailable: no key is set and azure-identity is missing.
        """
        values = merge_settings(cls, explicit, _ENV, what="blob storage")
        if "account_name" not in values and values.get("account_url"):
            values["account_name"] = account_from_url(values["account_url"])
        if not values.get("account_key") and values.get("credential") is None:
            values["credential"] = _default_credential()
        return cls(**values)


def _default_credential() -> object:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:
        raise BackendUnavailable("no storage key is set and azure-identity is not installed",
                                 hint="set TOPWORDS_STORAGE_KEY or pip install 'topwords[azure]'"
                                 ) from exc
    return DefaultAzureCredential()


def _clean(text: str) -> str:
    """:func:`_redact`, cut to a length that reads well in one line."""
    text = redact_url(text)
    return text if len(text) <= 300 else text[:297] + "..."


@contextmanager
def _translate(what: str) -> Iterator[None]:
    """Turn SDK (and local file) exceptions raised inside into project errors.

    ``what`` names the operation and its container/blob; the message adds the
    HTTP status and storage error code, never the request URL.
    """
    try:
        yield
    except TopwordsError:
        raise
    except HttpResponseError as exc:
        error_code = getattr(exc, "error_code", None)  # a StorageErrorCode or a str
        code = " ".join(str(x) for x in (exc.status_code, getattr(error_code, "value", error_code))
                        if x)
        message = f"{_clean(what)} failed ({_clean(code or type(exc).__name__)})"
        if isinstance(exc, ResourceNotFoundError):
            raise BlobNotFound(message) from exc
        if isinstance(exc, ClientAuthenticationError) or exc.status_code in (401, 403):
            raise StorageAuthError(message, hint="check the storage key, credential or SAS "
                                   "and its permissions") from exc
        raise StorageError(message) from exc
    except AzureError as exc:
        reason = _clean(f"{type(exc).__name__}: {exc.message}")
        if isinstance(exc, ServiceResponseTimeoutError):  # connected, no answer in time
            raise StorageTimeout(f"{_clean(what)} failed: {reason}") from exc
        raise StorageError(f"{_clean(what)} failed: {reason}",
                           hint="check the storage URL and that the service is reachable"
                           ) from exc
    except OSError as exc:  # local file trouble: disk full, unreadable file, ...
        raise StorageError(f"{_clean(what)} failed: {_clean(str(exc))}") from exc


def _retry_policy() -> ExponentialRetry:
    """At most 3 retries after about 2, 2.75 and 3.9 s (the SDK waits
    ``initial_backoff + increment_base ** n`` before retry n); a refused
    connection is retried once, so it fails after about 2 s, not 84 s."""
    return ExponentialRetry(initial_backoff=0.5, increment_base=1.5, retry_total=3,
                            retry_connect=1, retry_read=2, retry_status=3,
                            random_jitter_range=0.5)


def _transport(config: BlobStorageConfig, pool_size: int) -> RequestsTransport:
    """A transport whose connection pool fits our concurrency (the default
    of 10 would discard connections under bulk transfers)."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_maxsize=pool_size, max_retries=Retry(total=False, redirect=False,
                                                  raise_on_status=False))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=True,
                             connection_timeout=min(10.0, config.timeout),
                             read_timeout=config.timeout)


class AzureBlobStorage(Storage):
    """:class:`Storage` on Azure Blob Storage (or Azurite).

    Attributes:
        transfer_concurrency: parallel block transfers within one blob.
    """

    name = "azure-blob"
    transfer_concurrency = 4

    def __init__(self, config: BlobStorageConfig) -> None:
        self.config = config
        credential: Any = config.credential
        if config.account_key:
            credential = {"account_name": config.account_name,
                          "account_key": config.account_key}
        with _translate(f"configuring storage account {config.account_name!r}"):
            self._service = BlobServiceClient(
                config.account_url, credential=credential,
                transport=_transport(config, self.max_concurrency * self.transfer_concurrency),
                retry_policy=_retry_policy(), logging_enable=False,
                max_single_put_size=_BLOCK_SIZE, max_block_size=_BLOCK_SIZE,
                max_single_get_size=_BLOCK_SIZE, max_chunk_get_size=_BLOCK_SIZE)
        self._https = urlsplit(config.account_url).scheme == "https"
        self._delegation_key: Any = None
        self._delegation_key_expiry = datetime.min.replace(tzinfo=timezone.utc)
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    # -- primitives -----------------------------------------------------

    def create_container(self, container: str,
                         metadata: Mapping[str, str] | None = None) -> None:
        with _translate(f"creating container {container!r}"):
            try:
                self._service.create_container(container, metadata=dict(metadata or {}))
            except ResourceExistsError as exc:
                if exc.error_code != "ContainerAlreadyExists":
                    raise

    def delete_container(self, container: str) -> None:
        with _translate(f"deleting container {container!r}"):
            try:
                self._service.delete_container(container)
            except ResourceNotFoundError:
                pass

    def upload_file(self, container: str, blob_name: str, path: Path) -> None:
        with _translate(f"uploading {str(path)!r} to blob {blob_name!r} "
                        f"in container {container!r}"):
            blob = self._service.get_blob_client(container, blob_name)
            with open(path, "rb") as stream:
                blob.upload_blob(stream, length=os.fstat(stream.fileno()).st_size,
                                 overwrite=True, max_concurrency=self.transfer_concurrency)

    def download_file(self, container: str, blob_name: str, path: Path) -> None:
        path = Path(path)
        with _translate(f"downloading blob {blob_name!r} from container {container!r}"):
            blob = self._service.get_blob_client(container, blob_name)
            download = blob.download_blob(max_concurrency=self.transfer_concurrency)
            path.parent.mkdir(parents=True, exist_ok=True)
            # A unique temporary name next to the target: a failed transfer
            # never leaves a partial file under the blob's name.
            # (Not mkstemp: its 0600 mode would survive the rename.)
            tmp = path.parent / f".download-{uuid.uuid4().hex}.part"
            try:
                with open(tmp, "xb") as out:
                    download.readinto(out)
                os.replace(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise

    def list_blobs(self, container: str, prefix: str = "") -> list[str]:
        with _translate(f"listing blobs in container {container!r}"):
            client = self._service.get_container_client(container)
            return sorted(client.list_blob_names(name_starts_with=prefix or None))

    def blob_read_url(self, container: str, blob_name: str,
                      expiry: timedelta = timedelta(hours=2)) -> str:
        return self._blob_url("read", container, blob_name, expiry,
                              BlobSasPermissions(read=True))

    def blob_write_url(self, container: str, blob_name: str,
                       expiry: timedelta = timedelta(hours=2)) -> str:
        return self._blob_url("write", container, blob_name, expiry,
                              BlobSasPermissions(create=True, write=True))

    def _blob_url(self, what: str, container: str, blob_name: str, expiry: timedelta,
                  permission: BlobSasPermissions) -> str:
        with _translate(f"signing a {what} URL for blob {blob_name!r} in container "
                        f"{container!r}"):
            start, end = self._sas_window(expiry)
            sas = generate_blob_sas(
                self.config.account_name, container, blob_name, permission=permission,
                start=start, expiry=end, protocol="https" if self._https else None,
                **self._signer(end))
            return f"{self._service.get_blob_client(container, blob_name).url}?{sas}"

    def container_write_url(self, container: str,
                            expiry: timedelta = timedelta(hours=2)) -> str:
        with _translate(f"signing a write URL for container {container!r}"):
            start, end = self._sas_window(expiry)
            sas = generate_container_sas(
                self.config.account_name, container,
                permission=ContainerSasPermissions(create=True, write=True),
                start=start, expiry=end,
                protocol="https" if self._https else None, **self._signer(end))
            return f"{self._service.get_container_client(container).url}?{sas}"

    def check_container(self, container: str) -> None:
        """Its properties, with one try and a short timeout: a health check
        must answer in seconds, not after the retries of a transfer."""
        with _translate(f"checking container {container!r}"):
            self._service.get_container_client(container).get_container_properties(
                timeout=5, retry_total=0, connection_timeout=3, read_timeout=5)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._service.close()

    # -- SAS signing ----------------------------------------------------

    @staticmethod
    def _sas_window(expiry: timedelta) -> tuple[datetime, datetime]:
        if expiry <= timedelta(0):
            raise StorageError(f"a SAS expiry must be positive, not {expiry}")
        now = datetime.now(timezone.utc)
        return now - CLOCK_SKEW, now + expiry

    def _signer(self, sas_expiry: datetime) -> dict[str, Any]:
        """Keyword arguments that sign a SAS valid until ``sas_expiry``."""
        if self.config.account_key:
            return {"account_key": self.config.account_key}
        if not hasattr(self.config.credential, "get_token"):
            raise StorageError("cannot sign a SAS: storage was configured with neither "
                               "an account key nor a token credential")
        return {"user_delegation_key": self._user_delegation_key(sas_expiry)}

    def _user_delegation_key(self, sas_expiry: datetime) -> Any:
        """A user delegation key valid past ``sas_expiry``, cached and reused.

        A new key is requested (valid for a day, or up to the SAS expiry plus a
        margin, at most 7 days) once the cached one would expire too early.
        """
        margin = timedelta(minutes=5)
        with self._lock:
            if self._delegation_key is None or self._delegation_key_expiry < sas_expiry + margin:
                now = datetime.now(timezone.utc)
                limit = now + MAX_DELEGATION_KEY_LIFETIME
                if sas_expiry + margin > limit:
                    raise StorageError("a SAS signed with a user delegation key "
                                       "can be valid for at most 7 days")
                key_expiry = min(max(sas_expiry + margin, now + timedelta(days=1)), limit)
                self._delegation_key = self._service.get_user_delegation_key(
                    now - CLOCK_SKEW, key_expiry)
                self._delegation_key_expiry = key_expiry
            return self._delegation_key


class _RedactQueryStrings(logging.Filter):
    """urllib3 logs full request URLs at DEBUG, SAS signatures included."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_url(record.getMessage()), None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactQueryStrings())
