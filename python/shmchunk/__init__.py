"""shmchunk: share one pandas DataFrame read-only between processes through one
shared-memory segment (see README.md; the format is lib/FORMAT.md)."""

from .errors import *  # noqa: F401,F403  (the typed exceptions are part of the API)
from .errors import __all__ as _errors_all

__all__ = list(_errors_all)

from ._lib import library_version  # noqa: E402
from .frame import PlanPart, SharedFrame, attach, detach_all, share  # noqa: E402

__version__ = ".".join(map(str, library_version()))  # include/shmchunk.h is the one place

__all__ += ["PlanPart", "SharedFrame", "attach", "detach_all", "share"]

from ._shm import gc, list_segments, unlink  # noqa: E402

__all__ += ["gc", "list_segments", "unlink"]
