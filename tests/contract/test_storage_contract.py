"""The Storage contract (``topwords.testing.storage_contract``) on every
storage target of tests/rigs.py that claims what each test requires."""

from topwords.testing import StorageContract


class TestStorageContract(StorageContract):
    """Its ``storage_target`` comes from tests/conftest.py."""
