"""The Compute contract (``topwords.testing.compute_contract``) on every
compute target of tests/rigs.py that claims what each test requires: the
in-process fakes, the local engine on process nodes and on containers, the
azure backend on the Batch emulator, and real Azure when its credentials
are set."""

from topwords.testing import ComputeContract


class TestComputeContract(ComputeContract):
    """Its ``compute_target`` comes from tests/conftest.py."""
