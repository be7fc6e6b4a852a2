"""The decoded-size cap of attach() (issue 12): a segment whose chunks decode to more
than max_decoded bytes is refused with LimitError naming the chunk and the sizes."""
import shutil

import numpy as np
import pandas as pd
import pytest

import shmchunk
from shmchunk import errors


@pytest.fixture
def zeros_file(tmp_path):
    """A file segment of 2**20 int64 zeros: 8 MiB decoded from a few KB stored."""
    owned, path = str(tmp_path / "owned.shmc"), str(tmp_path / "zeros.shmc")
    with shmchunk.share(pd.DataFrame({"z": np.zeros(1 << 20, dtype="int64")}),
                        compression="zstd", rows_per_chunk=1 << 20, name=owned):
        shutil.copyfile(owned, path)   # the owner's close removes its own file
    return path


def test_default_cap_admits_a_real_segment(zeros_file):
    with shmchunk.attach(zeros_file) as sf:
        assert int(sf.read()["z"].sum()) == 0


def test_cap_refuses_naming_chunk_and_sizes(zeros_file):
    with pytest.raises(errors.LimitError) as ei:
        shmchunk.attach(zeros_file, max_decoded=1 << 20)
    msg = str(ei.value)
    assert "chunk 0 (column 0 'z', row group 0, values)" in msg
    assert "decodes to 8388608 bytes" in msg
    assert "limit of 1048576 bytes (set by the caller" in msg


def test_cap_at_the_exact_size_and_unlimited(zeros_file):
    with shmchunk.attach(zeros_file, max_decoded=8 << 20) as sf:
        assert len(sf.read()) == 1 << 20
    with shmchunk.attach(zeros_file, max_decoded=1 << 70) as sf:  # beyond 2**64-1: no cap
        assert len(sf.read()) == 1 << 20


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "1G"])
def test_cap_argument_checked(zeros_file, bad):
    with pytest.raises(errors.InvalidArgumentError):
        shmchunk.attach(zeros_file, max_decoded=bad)
