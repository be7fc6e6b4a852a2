"""Issue 16.1: an exception at any point of share() -- a real SIGINT included --
leaves nothing in /dev/shm, and Ctrl-C stops a large write within one batch."""
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
from shmc_pyhelpers import shm_exists, unique_name

import shmchunk
from shmchunk import frame as F

STAGES = ["built", "writing", "written", "attached", "owned"]


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """SIGINT raises KeyboardInterrupt here, as at a terminal: a runner that started the
    suite in the background (`cmd &` in a script) left it ignored, and Python then
    keeps it ignored, so the signals below would never arrive."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


@pytest.fixture
def hook():
    """Install frame._share_hook for one test."""
    def install(fn):
        F._share_hook = fn
    yield install
    F._share_hook = None


def big_frame(rows=1_500_000, cols=6):
    # 72 MB of float64 at rows_per_chunk 1 << 16: two ~64 MB batches of the write
    rng = np.random.default_rng(0)
    return pd.DataFrame({f"x{i}": rng.random(rows) for i in range(cols)})


@pytest.mark.parametrize("stage", STAGES)
def test_sigint_at_every_stage_leaves_nothing(hook, stage):
    df = big_frame()
    name = unique_name("sigint")
    seen = []

    def on_stage(st, src):
        seen.append(st)
        if st == stage and seen.count(st) == 1:
            os.kill(os.getpid(), signal.SIGINT)   # a real Ctrl-C: to the process

    hook(on_stage)
    with pytest.raises(KeyboardInterrupt):
        shmchunk.share(df, name=name, rows_per_chunk=1 << 16)
    assert not shm_exists(name)
    if stage == "writing":   # stopped within a batch: never reached the later stages
        assert "written" not in seen and seen.count("writing") <= 2


@pytest.mark.parametrize("stage", STAGES[:1] + STAGES[2:])
def test_any_exception_at_every_stage_leaves_nothing(hook, stage):
    name = unique_name("exc")

    def on_stage(st, src):
        if st == stage:
            raise RuntimeError(f"boom at {st}")

    hook(on_stage)
    with pytest.raises(RuntimeError, match="boom"):
        shmchunk.share(pd.DataFrame({"a": np.arange(10)}), name=name)
    assert not shm_exists(name)


def test_default_name_interrupted_after_write_is_removed(hook):
    """The issue's window: the C write returned, share() does not own the name yet."""
    made = []

    def on_stage(st, src):
        if st == "written":
            made.append(src)
            os.kill(os.getpid(), signal.SIGINT)

    hook(on_stage)
    with pytest.raises(KeyboardInterrupt):
        shmchunk.share(pd.DataFrame({"a": np.arange(1000.0)}))
    assert made and made[0].startswith("shm:")
    assert not shm_exists(made[0][4:])


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2])
def test_timer_sigint_like_the_issue(delay):
    """The issue's own reproduction: Ctrl-C from another thread at some moment."""
    df = big_frame()
    name = unique_name("timer")
    t = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    sf = None
    try:
        try:
            t.start()
            sf = shmchunk.share(df, name=name, rows_per_chunk=1 << 16)
        finally:
            t.join()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:   # the write won the race: the signal comes
            time.sleep(0.001)                # at the next bytecode
        pytest.fail("SIGINT was sent but never raised KeyboardInterrupt")
    except KeyboardInterrupt:
        pass
    if sf is None:   # interrupted inside share(): nothing of it may exist
        assert not shm_exists(name)
    else:
        sf.close()
        assert not shm_exists(name)


def test_cancelled_write_status():
    assert shmchunk.CancelledError.status == 24
    assert issubclass(shmchunk.CancelledError, shmchunk.ShmchunkError)
