"""Issue 16.6/16.7: one naming rule for Python and the CLI -- "shm:NAME" is shared
memory, anything with a "/" a path, a bare NAME whichever of the two exists (both:
an error) -- names printed with "shm:", and typed errors for wrong arguments."""
import numpy as np
import pandas as pd
import pytest
from shmc_pyhelpers import unique_name

import shmchunk


def frame():
    return pd.DataFrame({"a": np.arange(10)})


def test_names_are_printed_with_shm(shared):
    sf = shared(frame())
    assert sf.name.startswith("shm:") and sf.info()["name"] == sf.name
    assert sf.name in {e["name"] for e in shmchunk.list_segments()}
    assert shmchunk.attach(sf.name).name == sf.name
    assert shmchunk.attach(sf.name[4:]).name == sf.name    # bare: resolved, printed with shm:


def test_attach_takes_paths_like_the_cli(tmp_path, monkeypatch):
    path = tmp_path / "f.shmc"
    with shmchunk.share(frame(), name=str(path)):
        assert shmchunk.attach(str(path)).read()["a"].sum() == 45
        assert shmchunk.attach(path).name == str(path)        # os.PathLike too
        monkeypatch.chdir(tmp_path)
        assert shmchunk.attach("f.shmc").name == "f.shmc"      # a bare name of a file here


def test_bare_name_in_both_places_is_ambiguous(shared, tmp_path, monkeypatch):
    sf = shared(frame())
    bare = sf.name[4:]
    monkeypatch.chdir(tmp_path)
    (tmp_path / bare).write_bytes(b"x")
    with pytest.raises(shmchunk.InvalidNameError, match=f"say shm:{bare} or ./{bare}"):
        shmchunk.attach(bare)
    assert shmchunk.attach(sf.name).name == sf.name             # the prefix settles it
    with pytest.raises(shmchunk.InvalidNameError, match="ambiguous"):
        shmchunk.share(frame(), name=bare)


def test_not_found_suggests_the_other_namespace(shared, tmp_path, monkeypatch):
    sf = shared(frame())
    bare = sf.name[4:]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(shmchunk.SegmentNotFoundError, match=f"did you mean shm:{bare}"):
        shmchunk.attach(f"./{bare}")
    (tmp_path / "onlyfile").write_bytes(b"x")
    with pytest.raises(shmchunk.SegmentNotFoundError, match="did you mean ./onlyfile"):
        shmchunk.attach("shm:onlyfile")
    with pytest.raises(shmchunk.SegmentNotFoundError, match="no shared memory shm:nothing-here"):
        shmchunk.attach("nothing-here")


@pytest.mark.parametrize("bad", [123, None, b"shm:x", 1.5])
def test_attach_wrong_type_is_typed(bad):
    with pytest.raises(shmchunk.InvalidNameError, match="must be 'shm:NAME' or a path"):
        shmchunk.attach(bad)


@pytest.mark.parametrize("level", [0, 23, 99, -1, 1.5, True, "3"])
def test_share_level_outside_1_22_refused(level):
    name = unique_name("lvl")
    with pytest.raises(shmchunk.InvalidArgumentError, match=r"level must be an int in 1\.\.22"):
        shmchunk.share(frame(), compression="zstd", level=level, name=name)


def test_share_level_limits_accepted(shared):
    for level in (1, 22):
        assert shared(frame(), compression="zstd", level=level).read()["a"].sum() == 45


def test_null_count_counts_nan_and_nat(shared):
    df = pd.DataFrame({"f": [np.nan] * 4, "g": np.array([1.0, np.nan, 2.0, np.nan], np.float32),
                       "t": pd.to_datetime(["2020-01-01", None, None, "2021-01-01"]),
                       "m": pd.array([1.5, None, 2.0, 3.0], dtype="Float64")})
    sf = shared(df)
    nulls = {c["label"]: c["null_count"] for c in sf.info()["columns"]}
    assert nulls == {"f": 4, "g": 2, "t": 2, "m": 1} == df.isna().sum().to_dict()
