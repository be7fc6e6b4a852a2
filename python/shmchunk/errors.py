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

# Mirrors enum shmc_status in lib/shmchunk.h (checked against the library at import).
STATUS_NAMES = {
    0: "SHMC_OK", 1: "SHMC_ERR_INVALID_ARG", 2: "SHMC_ERR_NOMEM", 3: "SHMC_ERR_IO",
    4: "SHMC_ERR_NOT_FOUND", 5: "SHMC_ERR_EXISTS", 6: "SHMC_ERR_NOSPACE",
    7: "SHMC_ERR_PERMISSION", 8: "SHMC_ERR_BAD_NAME", 9: "SHMC_ERR_BAD_MAGIC",
    10: "SHMC_ERR_BAD_VERSION", 11: "SHMC_ERR_BAD_LAYOUT", 12: "SHMC_ERR_UNSEALED",
    13: "SHMC_ERR_TRUNCATED", 14: "SHMC_ERR_HEADER_CHECKSUM", 15: "SHMC_ERR_INDEX_CHECKSUM",
    16: "SHMC_ERR_CHUNK_CHECKSUM", 17: "SHMC_ERR_CORRUPT", 18: "SHMC_ERR_COMPRESSED",
    19: "SHMC_ERR_RANGE", 20: "SHMC_ERR_LIMIT", 21: "SHMC_ERR_UNSUPPORTED",
    22: "SHMC_ERR_PICKLE", 23: "SHMC_ERR_CODEC", 24: "SHMC_ERR_CANCELLED",
}


class ShmchunkError(Exception):
    """Base class of every error raised by shmchunk."""

    status: int | None = None

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
    status = 1


class OutOfMemoryError(ShmchunkError, MemoryError):
    status = 2


class ShmchunkIOError(ShmchunkError, OSError):
    status = 3


class SegmentNotFoundError(ShmchunkError, FileNotFoundError):
    status = 4


class SegmentExistsError(ShmchunkError, FileExistsError):
    status = 5


class NoSpaceError(ShmchunkError, OSError):
    status = 6


class SegmentPermissionError(ShmchunkError, PermissionError):
    status = 7


class InvalidNameError(ShmchunkError, ValueError):
    status = 8


class CorruptSegmentError(ShmchunkError):
    """The segment's bytes are not a valid, complete, sealed segment."""

    status = 17


class BadMagicError(CorruptSegmentError):
    status = 9


class BadVersionError(CorruptSegmentError):
    status = 10


class BadLayoutError(CorruptSegmentError):
    status = 11


class UnsealedError(CorruptSegmentError):
    status = 12


class TruncatedError(CorruptSegmentError):
    status = 13


class ChecksumError(CorruptSegmentError):
    """An XXH3-64 checksum (header, index or chunk) does not match."""


class HeaderChecksumError(ChecksumError):
    status = 14


class IndexChecksumError(ChecksumError):
    status = 15


class ChunkChecksumError(ChecksumError):
    status = 16


class CompressedChunkError(ShmchunkError):
    """A zero-copy view was asked of a compressed chunk."""

    status = 18


class OutOfRangeError(ShmchunkError, IndexError):
    status = 19


class LimitError(ShmchunkError):
    status = 20


class UnsupportedError(ShmchunkError, NotImplementedError):
    status = 21


class PickleFormatError(ShmchunkError, ValueError):
    status = 22


class CodecError(ShmchunkError):
    status = 23


class CancelledError(ShmchunkError):
    """A write stopped because its caller asked (share() re-raises the Ctrl-C)."""

    status = 24


class PickleNotAllowedError(ShmchunkError, PermissionError):
    """Object chunks of another user's segment need allow_pickle=True."""


class IdentityMismatchError(ShmchunkError):
    """A handle names a segment whose identity is not the one it was made for."""


class ClosedError(ShmchunkError, ValueError):
    """Operation on a closed SharedFrame."""


_BY_STATUS = {
    cls.status: cls
    for cls in (InvalidArgumentError, OutOfMemoryError, ShmchunkIOError, SegmentNotFoundError,
                SegmentExistsError, NoSpaceError, SegmentPermissionError, InvalidNameError,
                BadMagicError, BadVersionError, BadLayoutError, UnsealedError, TruncatedError,
                HeaderChecksumError, IndexChecksumError, ChunkChecksumError, CorruptSegmentError,
                CompressedChunkError, OutOfRangeError, LimitError, UnsupportedError,
                PickleFormatError, CodecError, CancelledError)
}


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
