"""A pytest fixture for your own tests: a Batch emulator for the session.

Enable it in your ``conftest.py``::

    pytest_plugins = ["topwords.backends.local.emulator.pytest_plugin"]

    def test_my_batch_code(batch_emulator):
        client = BatchClient(batch_emulator.batch_url, AzureNamedKeyCredential(
            batch_emulator.account_name, batch_emulator.account_key))
        ...

``batch_emulator.environment()`` has the ``TOPWORDS_*`` settings, and
``storage_url``/``storage_account``/``storage_key`` reach its Azurite.
"""

from __future__ import annotations

import pytest

from .service import BatchEmulator

__all__ = ["batch_emulator"]


@pytest.fixture(scope="session")
def batch_emulator():
    """A started :class:`BatchEmulator` (with its own Azurite), stopped
    (every pool deleted) at the end of the session."""
    with BatchEmulator() as emulator:
        yield emulator
