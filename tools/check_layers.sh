#!/usr/bin/env bash
# The layering rule of docs/ARCHITECTURE.md, checked rather than hoped for:
#   include/ <- lib/common <- lib/core <- lib/pickle; cli/ and tools/bench see include/ only.
# Fails when a file includes a header of a higher layer (or an internal header from
# cli/ or tools/bench), when #includes between files form a cycle, when a .c of
# lib/ or cli/ is over 800 lines, or when two source files share a name.
# With a build directory, also fails on a call cycle between the library's object
# files (from nm: which file defines what another file calls).
#
#   tools/check_layers.sh [BUILD_DIR]        (ctest runs it as check_layers)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-}
cd "$ROOT"
fail=0
bad() { echo "check_layers: $*" >&2; fail=1; }

# Folders a file in each place may include from (besides its own folder).
allowed_dirs() {
    case "$1" in
        include) echo "include" ;;
        lib/common) echo "include lib/common" ;;
        lib/core) echo "include lib/common lib/core" ;;
        lib/pickle) echo "include lib/common lib/core lib/pickle" ;;
        cli) echo "include cli" ;;
        tools/bench) echo "include tools/bench" ;;
    esac
}

# Where a quoted include resolves among the checked folders (first match).
resolve() {
    local dir=$1 name=$2 d
    for d in "$dir" include lib/common lib/core lib/pickle cli tools/bench; do
        [ -f "$d/$name" ] && { echo "$d/$name"; return; }
    done
}

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for dir in include lib/common lib/core lib/pickle cli tools/bench; do
    [ -d "$dir" ] || continue
    allowed=" $(allowed_dirs "$dir") "
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -f "$f" ] || continue
        while IFS= read -r name; do
            target=$(resolve "$dir" "$name")
            if [ -z "$target" ]; then
                bad "$f includes \"$name\", which is in none of the layer folders"
                continue
            fi
            tdir=$(dirname "$target")
            [[ "$allowed" == *" $tdir "* ]] || bad "$f includes $target: $dir may not see $tdir"
            echo "$f $target" >>"$edges"
        done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
    done
done
if ! tsort "$edges" >/dev/null 2>&1; then
    bad "#include cycle: $(tsort "$edges" 2>&1 >/dev/null | tr '\n' ' ')"
fi

for f in lib/*/*.c cli/*.c; do
    n=$(wc -l <"$f")
    [ "$n" -le 800 ] || bad "$f has $n lines (more than 800: split it by job)"
done

dups=$(find include lib cli tools/bench -name '*.[ch]' -printf '%f\n' | sort | uniq -d)
[ -z "$dups" ] || bad "file names used twice: $dups"

# Call cycles between object files: file A calls B when A uses a symbol B defines.
if [ -n "$BUILD" ]; then
    objs=$(find "$BUILD/lib" -path '*/CMakeFiles/shmchunk_*.dir/*.o' | sort)
    if [ -z "$objs" ]; then
        bad "no library objects under $BUILD/lib (build first)"
    else
        defs=$(mktemp) calls=$(mktemp)
        trap 'rm -f "$edges" "$defs" "$calls"' EXIT
        for o in $objs; do
            base=$(basename "$o" .o)
            nm --defined-only -g "$o" | awk -v f="$base" 'NF == 3 {print $3, f}' >>"$defs"
            nm -u "$o" | awk -v f="$base" '{print $NF, f}' >>"$calls"
        done
        sort -o "$defs" "$defs"
        sort -o "$calls" "$calls"
        # "caller callee" for each symbol one object uses and another defines
        join "$calls" "$defs" | awk '$2 != $3 {print $2, $3}' | sort -u >"$edges"
        if ! tsort "$edges" >/dev/null 2>&1; then
            bad "call cycle between files: $(tsort "$edges" 2>&1 >/dev/null | tr '\n' ' ')"
        fi
    fi
fi

[ "$fail" -eq 0 ] && echo "check_layers: ok"
exit "$fail"
