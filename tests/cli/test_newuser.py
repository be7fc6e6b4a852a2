"""Issue 16.6/16.7 on the CLI: the naming rule of the library (a bare NAME is
whichever of shm:NAME and ./NAME exists), "did you mean", names printed with
"shm:" by ls --json, rm refusing a live owner's segment, NaN counted as null."""
import json

import numpy as np
import pandas as pd

from .conftest import _shm_exists
from .test_cli import one_error_line, write_pickle


def pack(cli, tmp_path, name, df=None):
    df = pd.DataFrame({"x": np.arange(100)}) if df is None else df
    cli("pack", write_pickle(df, tmp_path / "in.pkl"), f"shm:{name}", check=0)


def test_bare_name_is_shared_memory_when_no_file_has_it(cli, shm_name, tmp_path):
    pack(cli, tmp_path, shm_name)
    info = json.loads(cli("info", "--json", shm_name, cwd=tmp_path, check=0).out)
    assert info["rows"] == 100 and info["name"] == f"shm:{shm_name}"


def test_bare_name_in_both_places_is_an_error(cli, shm_name, tmp_path):
    pack(cli, tmp_path, shm_name)
    (tmp_path / shm_name).write_bytes(b"x")
    proc = cli("info", shm_name, cwd=tmp_path, check=1)
    assert f"say shm:{shm_name} or ./{shm_name}" in one_error_line(proc, "info", shm_name)


def test_not_found_path_suggests_shm(cli, shm_name, tmp_path):
    pack(cli, tmp_path, shm_name)
    for verb in ("info", "verify", "rm"):
        proc = cli(verb, f"./{shm_name}", cwd=tmp_path, check=1)
        assert f"did you mean shm:{shm_name}?" in one_error_line(proc, verb, f"./{shm_name}")
    assert _shm_exists(shm_name)


def test_ls_json_names_carry_shm(cli, shm_name, tmp_path):
    pack(cli, tmp_path, shm_name)
    names = {e["name"] for e in json.loads(cli("ls", "--json", check=0).out)}
    assert f"shm:{shm_name}" in names and shm_name not in names


def test_rm_refuses_a_live_owners_segment_without_force(cli, shm_name):
    import shmchunk
    sf = shmchunk.share(pd.DataFrame({"x": np.arange(10)}), name=f"shm:{shm_name}")
    try:
        proc = cli("rm", f"shm:{shm_name}", check=1)
        line = one_error_line(proc, "rm", f"shm:{shm_name}")
        assert "is alive" in line and "--force" in line
        assert _shm_exists(shm_name)
        assert cli("rm", "--force", f"shm:{shm_name}", check=0).out == f"removed shm:{shm_name}\n"
        assert not _shm_exists(shm_name)
    finally:
        sf.close()   # the name is gone already: close says nothing


def test_info_counts_nan_as_null(cli, shm_name, tmp_path):
    df = pd.DataFrame({"f": np.full(50, np.nan), "g": np.where(np.arange(50) % 5, 1.0, np.nan),
                       "t": pd.Series(pd.to_datetime(["2020-01-01", None] * 25))})
    pack(cli, tmp_path, shm_name, df)
    cols = {c["label"]: c["nulls"] for c in json.loads(cli("info", "--json", f"shm:{shm_name}",
                                                           check=0).out)["columns"]}
    assert cols == {"f": 50, "g": 10, "t": 25}
    text = cli("info", f"shm:{shm_name}", check=0).out
    row = next(ln for ln in text.splitlines() if "'f'" in ln).split()
    assert row[row.index("float64") + 4] == "50"   # KIND DTYPE UNIT TZ NULLS
