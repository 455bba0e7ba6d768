"""The Azure backend: Azure Batch for compute, Azure Blob Storage for storage.

Submodules import their SDKs themselves, so importing this package needs
none of them; ``topwords.backends.azure.blob_storage`` needs only the
``storage`` extra.
"""

from __future__ import annotations

from topwords.core.errors import BackendUnavailable


def create(**options):
    raise BackendUnavailable("the azure backend is not built yet", hint="use --backend local")
