"""topwords' contract suites, for any Storage or Compute backend.

The suites that every built-in backend passes, as pytest test classes to
subclass (fsspec's way): give the subclass a fixture that returns a
*target*, the object under test with the capabilities it claims, and pytest
runs the whole contract on it. Written only against the interfaces in
``topwords.core`` (and plain HTTP for SAS URLs); needs pytest.

    # tests/test_my_backend_contract.py
    import pytest
    from topwords.testing import (
        ComputeContract, ComputeTarget, StorageContract, StorageTarget)

    @pytest.fixture(scope="class")
    def storage_target():
        with MyStorage(...) as storage:
            yield StorageTarget("mine", storage)

    @pytest.fixture(scope="class")
    def compute_target(storage_target):
        with MyCompute(...) as compute:
            yield ComputeTarget("mine", compute, storage=storage_target.storage)

    class TestMyStorage(StorageContract):
        pass

    class TestMyCompute(ComputeContract):
        pass

Capabilities (flags of :class:`StorageTarget` and :class:`ComputeTarget`,
e.g. ``serves_sas_urls``, ``has_nodes``, ``supports_output_files``) decide
which tests a target must pass: a test marked ``@requires("has_nodes")`` is
skipped, with the reason, on a target that does not claim it. A rig that
knows its targets' flags before building them can leave those pairs out
instead (:func:`claims`; topwords' own ``tests/rigs.py`` does).

To run the suites on several targets, parametrise the target fixture
(``@pytest.fixture(scope="class", params=[...])``). Class-scoped fixtures
inside a test class would be instance methods, which pytest 9 deprecates:
define the target fixtures at module level or in a ``conftest.py``.

Modules: ``storage_contract`` (:class:`StorageContract`),
``compute_contract`` (:class:`ComputeContract`), ``targets``.
"""

from __future__ import annotations

import pytest

# pytest rewrites asserts only in test modules unless told: the suites'
# failures should show their values too.
pytest.register_assert_rewrite("topwords.testing.storage_contract",
                               "topwords.testing.compute_contract")

from .compute_contract import ComputeContract  # noqa: E402
from .storage_contract import StorageContract  # noqa: E402
from .targets import (  # noqa: E402
    ComputeTarget, StorageTarget, claims, required_capabilities, requires, skip_unclaimed,
)

__all__ = ["ComputeContract", "ComputeTarget", "StorageContract", "StorageTarget", "claims",
           "required_capabilities", "requires", "skip_unclaimed"]
