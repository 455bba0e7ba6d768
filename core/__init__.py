"""topwords core: the Storage and Compute interfaces, the Batch data model,
the error hierarchy, the backend registry and the top-N-words workflow.

Imports no SDK and no backend (an import-linter contract checks this).
"""

from .backend import Backend
from .compute import Compute
from .errors import *  # noqa: F401,F403  (the hierarchy is the public API)
from .errors import __all__ as _errors
from .inputs import InputFile, validate_inputs
from .model import *  # noqa: F401,F403
from .model import __all__ as _model
from .storage import Storage
from .workflow import InputResult, RunResult, RunSettings, run_top_words

__all__ = ["Backend", "Compute", "InputFile", "InputResult", "RunResult",
           "RunSettings", "Storage", "run_top_words", "validate_inputs",
           *_errors, *_model]
