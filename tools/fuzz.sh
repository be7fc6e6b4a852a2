#!/usr/bin/env bash
# Build every libFuzzer target (clang, ASan + UBSan, library instrumented for
# coverage) in build-fuzz/ and run each for SECONDS with its seed corpus and
# dictionary. New inputs go to a scratch directory, never into fuzz/corpus/;
# crashes go to fuzz/artifacts/. Exit status 1 (and the reproducer paths
# printed) on any finding.
#   tools/fuzz.sh SECONDS [TARGET...]      e.g. tools/fuzz.sh 60 segment_open
# Environment: FUZZ_JOBS (parallel fuzzer processes per target, default 1),
#              FUZZ_BUILD (build dir, default build-fuzz), FUZZ_SCRATCH.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_EACH=${1:-}
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || { echo "usage: tools/fuzz.sh SECONDS [TARGET...]" >&2; exit 2; }
shift
BUILD=${FUZZ_BUILD:-$ROOT/build-fuzz}
SCRATCH=${FUZZ_SCRATCH:-$BUILD/scratch}
ARTIFACTS=$ROOT/fuzz/artifacts
JOBS=${FUZZ_JOBS:-1}

CC=${CC:-}
if [ -z "$CC" ]; then
    for c in clang-14 clang; do command -v "$c" >/dev/null && { CC=$c; break; }; done
fi
[ -n "$CC" ] || { echo "fuzz.sh: clang is required (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

# The library itself gets coverage instrumentation (fuzzer-no-link); the CMake
# fuzz block adds -fsanitize=fuzzer to the targets. UB must abort, not just warn,
# or libFuzzer would not notice it.
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSHMC_FUZZ=ON -DSHMC_TESTS=OFF -DCMAKE_C_FLAGS="$SAN -g" >/dev/null

ALL=()
for src in "$ROOT"/fuzz/fuzz_*.c; do t=$(basename "$src" .c); ALL+=("${t#fuzz_}"); done
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
cmake --build "$BUILD" -j2 --target "${TARGETS[@]/#/fuzz_}"

# Inputs bigger than this are pointless for these formats and slow.
max_len() {
    case $1 in
        roundtrip) echo 4096 ;;
        pickle_read) echo 65536 ;;
        *) echo 131072 ;;
    esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$ARTIFACTS" "$SCRATCH"
status=0
summary=()
for t in "${TARGETS[@]}"; do
    bin=$BUILD/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "fuzz.sh: no binary for target $t" >&2; exit 2; }
    work=$SCRATCH/$t
    mkdir -p "$work"
    dict=()
    [ -f "$ROOT/fuzz/dict/$t.dict" ] && dict=(-dict="$ROOT/fuzz/dict/$t.dict")
    seeds=()
    for d in "$ROOT/fuzz/corpus/$t" "$ROOT/tests/regressions/$t"; do [ -d "$d" ] && seeds+=("$d"); done
    log=$SCRATCH/$t.log
    before=$(ls "$ARTIFACTS" | wc -l)
    echo "==> fuzz_$t for ${SECONDS_EACH}s (log $log)" >&2
    # The first directory receives new inputs: the scratch one, not the corpus.
    set +e
    jobargs=()
    [ "$JOBS" -gt 1 ] && jobargs=(-jobs="$JOBS" -workers="$JOBS")
    # run from the scratch dir: with -jobs libFuzzer writes fuzz-N.log to the cwd
    (cd "$SCRATCH" && rm -f fuzz-*.log && exec "$bin" "$work" "${seeds[@]}" "${dict[@]}" \
        -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$t")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$ARTIFACTS/${t}-" \
        "${jobargs[@]}") >"$log" 2>&1
    rc=$?
    set -e
    if [ "$JOBS" -gt 1 ]; then cat "$SCRATCH"/fuzz-*.log >>"$log" 2>/dev/null || true; fi
    stats=$(grep -E "^#[0-9]+.*(DONE|pulse|NEW|REDUCE)" "$log" | tail -1)
    execs=$(grep -E "stat::average_exec_per_sec" "$log" | tail -1 | awk '{print $2}')
    summary+=("$t: rc=$rc execs/s=${execs:-?} last: ${stats:-none}")
    after=$(ls "$ARTIFACTS" | wc -l)
    if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
        status=1
        echo "fuzz.sh: FINDING in $t (exit $rc); log $log" >&2
        grep -E "^(==[0-9]+==ERROR|SUMMARY|fuzz: )|Test unit written to" "$log" | head -20 >&2 || true
        for a in $(ls -t "$ARTIFACTS" | grep "^$t-" | head -5); do
            echo "  reproduce: $bin $ARTIFACTS/$a" >&2
        done
    fi
done
rm -f /dev/shm/shmchunk-fuzz-* 2>/dev/null || true
printf '%s\n' "${summary[@]}" >&2
exit $status
