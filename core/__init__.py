"""topwords core: the Storage and Compute interfaces, the Batch data model,
the error hierarchy, the backend registry, the Workload interface and the
generic Batch run that runs a workload on any backend.

Imports no SDK, no backend and no workload (``tests/unit/test_layers.py``
checks this).
"""

from .backend import Backend
from .compute import Compute
from .errors import *  # noqa: F401,F403  (the hierarchy is the public API)
from .errors import __all__ as _errors
from .inputs import InputFile, validate_inputs
from .model import *  # noqa: F401,F403
from .model import __all__ as _model
from .run import PoolSettings, Result, RunResult, RunSettings, run_batch
from .storage import Storage
from .workload import AppFile, Expected, Plan, TaskDefaults, Urls, Workload

__all__ = ["AppFile", "Backend", "Compute", "Expected", "InputFile", "Plan", "PoolSettings",
           "Result", "RunResult", "RunSettings", "Storage", "TaskDefaults", "Urls", "Workload",
           "run_batch", "validate_inputs", *_errors, *_model]
