"""The Azure backend: Azure Batch for compute, Azure Blob Storage for storage.

Settings (see :class:`~topwords.backends.azure.config.AzureConfig`; explicit
options win over the variables, which win over the ``[azure]`` section of
``$TOPWORDS_CONFIG`` or ``~/.config/topwords/config.ini``):

================================  ===========================================
``TOPWORDS_BATCH_URL``            ``https://<account>.<region>.batch.azure.com``
``TOPWORDS_BATCH_ACCOUNT``        default: the URL's first host label
``TOPWORDS_BATCH_KEY``            shared key; unset: Azure AD
``TOPWORDS_STORAGE_URL``          ``https://<account>.blob.core.windows.net``
``TOPWORDS_STORAGE_ACCOUNT``      default: from the URL
``TOPWORDS_STORAGE_KEY``          shared key; unset: Azure AD
================================  ===========================================

Authentication, per service: a shared key (the tutorial's way) is used when
set; otherwise one ``DefaultAzureCredential`` (environment, workload or
managed identity, Azure CLI login, ...) serves both Batch and Storage, and
SAS URLs are signed with a user delegation key.

Plain http endpoints (an emulator, Azurite) need shared keys. azure-core's
``BearerTokenCredentialPolicy`` refuses to put a token on a non-https URL
unless the request's context says ``enforce_https=False``, and BatchClient
(azure-batch 15.1 on azure-core 1.41) has no client-level switch for that:
``BatchClient(url, cred, enforce_https=False)`` is accepted and silently
ignored. What works is ``enforce_https=False`` on every call
(``client.get_pool(id, enforce_https=False)``), or a ``per_call_policies``
``SansIOHTTPPolicy`` whose ``on_request`` sets
``request.context["enforce_https"] = False``. Otherwise every call fails with
``ServiceRequestError`` ("Bearer token authentication is not permitted for
non-TLS protected (non-https) URLs"), and only after the default retry policy
has spent about 5 s retrying it. Rather than send tokens in clear text,
``AzureConfig`` rejects an http URL without a key up front. Shared key over
http needs nothing: Batch signs requests in its own ``BatchSharedKeyAuthPolicy``,
which checks no scheme.

Submodules import their SDKs themselves, so importing this package needs
none of them; ``topwords.backends.azure.blob_storage`` needs only the
``storage`` extra.
"""

from __future__ import annotations

from typing import Any

from topwords.core.errors import BackendUnavailable

__all__ = ["create"]


def create(**options: Any):
    """Build the Azure backend (the registry calls this).

    Options: the fields of ``AzureConfig`` (``batch_url``, ``batch_account``,
    ``batch_key``, ``storage_url``, ``storage_account``, ``storage_key``,
    ``request_timeout``); None means "not given".

    ``request_timeout`` bounds each socket read of both clients (connects
    wait at most 10 s). Creates clients only: nothing is contacted until the
    first operation.

    Raises:
        ConfigError: bad options, environment or config file.
        BackendUnavailable: azure-batch, azure-storage-blob or azure-identity
            is missing (the hint names the ``azure`` extra).
    """
    from topwords.core.backend import Backend

    from .config import INSTALL_HINT, AzureConfig

    config = AzureConfig.from_env(**options)
    try:
        from .batch_compute import connect
        from .blob_storage import AzureBlobStorage
    except ImportError as exc:
        if (exc.name or "").startswith("topwords"):
            raise  # our own module is missing: a bug, not a missing extra
        raise BackendUnavailable(f"the azure backend needs packages that are not installed "
                                 f"({exc.name})", hint=INSTALL_HINT) from exc
    storage_config = config.storage_config()
    batch_credential = config.batch_credential()
    storage = AzureBlobStorage(storage_config)
    try:
        compute = connect(config.batch_url, batch_credential,
                          connection_timeout=min(10.0, config.request_timeout),
                          read_timeout=config.request_timeout)
    except BaseException:
        storage.close()
        raise
    backend = Backend(name="azure", storage=storage, compute=compute,
                      describe=config.describe(), endpoint=config.endpoint())
    closeable = {id(c): c for c in (batch_credential, storage_config.credential)
                 if callable(getattr(c, "close", None))}
    for credential in closeable.values():
        backend.on_close(credential.close)
    return backend
