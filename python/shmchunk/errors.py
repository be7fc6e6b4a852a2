"""Typed exceptions for libshmchunk status codes.

Every C status maps to one class.  Each exception carries ``.status`` (the int
code, or None for errors raised by Python itself), ``.detail`` (the C handle's
message naming file/chunk/column/offset) and ``.function`` (the C function that
failed).  The classes also derive from the closest built-in exception, so
``except FileNotFoundError`` or ``except ValueError`` keep working for callers
that do not know this package.
"""

from __future__ import annotations

__all__ = [
    "ShmchunkError", "InvalidArgumentError", "OutOfMemoryError", "ShmchunkIOError",
    "SegmentNotFoundError", "SegmentExistsError", "NoSpaceError", "SegmentPermissionError",
    "InvalidNameError", "CorruptSegmentError", "BadMagicError", "BadVersionError",
    "BadLayoutError", "UnsealedError", "TruncatedError", "ChecksumError",
    "HeaderChecksumError", "IndexChecksumError", "ChunkChecksumError",
    "CompressedChunkError", "OutOfRangeError", "LimitError", "UnsupportedError",
    "PickleFormatError", "CodecError", "CancelledError", "PickleNotAllowedError",
    "IdentityMismatchError",
    "ClosedError", "error_for_status", "STATUS_NAMES",
]

# {code: "SHMC_ERR_..."}, filled from the library by bind_statuses() when
# shmchunk._lib loads it (include/shmchunk.h SHMC_STATUS_LIST is the one list).
STATUS_NAMES: dict[int, str] = {}


class ShmchunkError(Exception):
    """Base class of every error raised by shmchunk."""

    status: int | None = None
    # Enumerator of include/shmchunk.h this class stands for; bind_statuses() sets .status.
    status_name: str | None = None

    def __init__(self, message: str = "", *, status: int | None = None,
                 detail: str = "", function: str = ""):
        # One positional argument only: OSError subclasses would otherwise
        # reinterpret (errno, strerror) pairs.
        super().__init__(message)
        if status is not None:
            self.status = status
        self.detail = detail
        self.function = function

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(ShmchunkError, ValueError):
    status_name = "SHMC_ERR_INVALID_ARG"


class OutOfMemoryError(ShmchunkError, MemoryError):
    status_name = "SHMC_ERR_NOMEM"


class ShmchunkIOError(ShmchunkError, OSError):
    status_name = "SHMC_ERR_IO"


class SegmentNotFoundError(ShmchunkError, FileNotFoundError):
    status_name = "SHMC_ERR_NOT_FOUND"


class SegmentExistsError(ShmchunkError, FileExistsError):
    status_name = "SHMC_ERR_EXISTS"


class NoSpaceError(ShmchunkError, OSError):
    status_name = "SHMC_ERR_NOSPACE"


class SegmentPermissionError(ShmchunkError, PermissionError):
    status_name = "SHMC_ERR_PERMISSION"


class InvalidNameError(ShmchunkError, ValueError):
    status_name = "SHMC_ERR_BAD_NAME"


class CorruptSegmentError(ShmchunkError):
    """The segment's bytes are not a valid, complete, sealed segment."""

    status_name = "SHMC_ERR_CORRUPT"


class BadMagicError(CorruptSegmentError):
    status_name = "SHMC_ERR_BAD_MAGIC"


class BadVersionError(CorruptSegmentError):
    status_name = "SHMC_ERR_BAD_VERSION"


class BadLayoutError(CorruptSegmentError):
    status_name = "SHMC_ERR_BAD_LAYOUT"


class UnsealedError(CorruptSegmentError):
    status_name = "SHMC_ERR_UNSEALED"


class TruncatedError(CorruptSegmentError):
    status_name = "SHMC_ERR_TRUNCATED"


class ChecksumError(CorruptSegmentError):
    """An XXH3-64 checksum (header, index or chunk) does not match."""


class HeaderChecksumError(ChecksumError):
    status_name = "SHMC_ERR_HEADER_CHECKSUM"


class IndexChecksumError(ChecksumError):
    status_name = "SHMC_ERR_INDEX_CHECKSUM"


class ChunkChecksumError(ChecksumError):
    status_name = "SHMC_ERR_CHUNK_CHECKSUM"


class CompressedChunkError(ShmchunkError):
    """A zero-copy view was asked of a compressed chunk."""

    status_name = "SHMC_ERR_COMPRESSED"


class OutOfRangeError(ShmchunkError, IndexError):
    status_name = "SHMC_ERR_RANGE"


class LimitError(ShmchunkError):
    status_name = "SHMC_ERR_LIMIT"


class UnsupportedError(ShmchunkError, NotImplementedError):
    status_name = "SHMC_ERR_UNSUPPORTED"


class PickleFormatError(ShmchunkError, ValueError):
    status_name = "SHMC_ERR_PICKLE"


class CodecError(ShmchunkError):
    status_name = "SHMC_ERR_CODEC"


class CancelledError(ShmchunkError):
    """A write stopped because its caller asked (share() re-raises the Ctrl-C)."""

    status_name = "SHMC_ERR_CANCELLED"


class PickleNotAllowedError(ShmchunkError, PermissionError):
    """Object chunks of another user's segment need allow_pickle=True."""


class IdentityMismatchError(ShmchunkError):
    """A handle names a segment whose identity is not the one it was made for."""


class ClosedError(ShmchunkError, ValueError):
    """Operation on a closed SharedFrame."""


_BY_STATUS: dict[int, type[ShmchunkError]] = {}


def _status_classes(cls=ShmchunkError):
    for sub in cls.__subclasses__():
        yield sub
        yield from _status_classes(sub)


def bind_statuses(names: dict[int, str]) -> None:
    """Give every class its .status from the library's {code: enumerator name};
    a class whose enumerator the library lacks, or a code without a class, is an
    ImportError (the package and the library disagree)."""
    STATUS_NAMES.clear()
    STATUS_NAMES.update(names)
    codes = {name: code for code, name in names.items()}
    _BY_STATUS.clear()
    for cls in _status_classes():
        name = cls.__dict__.get("status_name")   # its own, not a base class's
        if name is None:
            continue
        if name not in codes:
            raise ImportError(f"libshmchunk has no status {name} ({cls.__name__})")
        cls.status = codes[name]
        _BY_STATUS[cls.status] = cls
    unmapped = sorted(set(names) - set(_BY_STATUS) - {0})
    if unmapped:
        raise ImportError(f"no exception class for status {[names[c] for c in unmapped]}")


def error_for_status(status: int, detail: str = "", function: str = "",
                     name: str | None = None) -> ShmchunkError:
    """Build (not raise) the exception for a C status code.

    ``name`` is the generic text of the status (shmc_strerror); the message is
    "<detail>" when the C side gave one, else the generic text, so the first
    line a user sees names the chunk/column/offset whenever C knew it."""
    cls = _BY_STATUS.get(status, ShmchunkError)
    generic = name or STATUS_NAMES.get(status, f"status {status}")
    message = detail if detail else generic
    if detail and name and name not in detail:
        message = f"{name}: {detail}"
    return cls(message, status=status, detail=detail, function=function)
