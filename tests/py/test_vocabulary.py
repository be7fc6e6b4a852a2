"""One source per vocabulary: Python's role/unit/codec/owner-state words are the
library's (lib/common/names.c), the same ones the CLI prints."""
from shmchunk import _lib as L


def test_names_are_the_librarys():
    assert L.ROLE_NAMES == {L.SHMC_ROLE_VALUES: "values", L.SHMC_ROLE_MASK: "mask",
                            L.SHMC_ROLE_OFFSETS: "offsets", L.SHMC_ROLE_DATA: "data",
                            L.SHMC_ROLE_VALIDITY: "validity", L.SHMC_ROLE_PICKLE: "pickle",
                            L.SHMC_ROLE_RIGHT: "right", L.SHMC_ROLE_INDICES: "indices"}
    assert L.UNIT_NAMES == {L.SHMC_UNIT_S: "s", L.SHMC_UNIT_MS: "ms", L.SHMC_UNIT_US: "us",
                            L.SHMC_UNIT_NS: "ns"}
    assert L.UNIT_CODES == {"s": 1, "ms": 2, "us": 3, "ns": 4}
    assert L.CODEC_NAMES == {L.SHMC_CODEC_NONE: "none", L.SHMC_CODEC_ZSTD: "zstd"}
    assert L.OWNER_STATE_NAMES == {L.SHMC_OWNER_PERSISTENT: "persistent",
                                   L.SHMC_OWNER_ALIVE: "alive", L.SHMC_OWNER_DEAD: "orphaned"}


def test_out_of_range_codes_are_unknown():
    for fn, past in ((L.lib.shmc_role_name, L.SHMC_ROLE_COUNT), (L.lib.shmc_unit_name, 5),
                     (L.lib.shmc_codec_name, 2), (L.lib.shmc_owner_state_name, 3),
                     (L.lib.shmc_kind_name, L.SHMC_KIND_COUNT)):
        assert fn(past) == b"unknown" and fn(-1) == b"unknown"


def test_version_is_the_headers():
    from pathlib import Path

    import shmchunk
    from shmchunk._header import header_version
    header = Path(__file__).resolve().parents[2] / "include" / "shmchunk.h"
    assert L.lib.shmc_version().decode() == shmchunk.__version__
    assert tuple(map(int, shmchunk.__version__.split("."))) == header_version(header)
