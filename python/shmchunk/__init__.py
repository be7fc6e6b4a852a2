"""shmchunk: share one pandas DataFrame read-only between processes through one
shared-memory segment (see DESIGN.md)."""

from .errors import *  # noqa: F401,F403  (the typed exceptions are part of the API)
from .errors import __all__ as _errors_all

__version__ = "0.1.0"
__all__ = list(_errors_all)

from .frame import PlanPart, SharedFrame, attach, detach_all, share  # noqa: E402

__all__ += ["PlanPart", "SharedFrame", "attach", "detach_all", "share"]

from ._shm import gc, list_segments, unlink  # noqa: E402

__all__ += ["gc", "list_segments", "unlink"]
