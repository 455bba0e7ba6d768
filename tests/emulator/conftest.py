"""Fixtures of the emulator tests that run on their own process-node
emulator (emulator_rig): a module's ``emulator`` and a ``client`` on it. A
module that needs other settings defines its own ``emulator``."""

from __future__ import annotations

import pytest

from emulator_rig import client_of, start_emulator


@pytest.fixture(scope="module")
def emulator():
    """A module's own emulator on process nodes."""
    emulator = start_emulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def client(emulator):
    """A BatchClient on the module's ``emulator``."""
    with client_of(emulator) as client:
        yield client
