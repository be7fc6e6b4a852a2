#!/usr/bin/env bash
# The C sources stay as .clang-format writes them: clang-format --dry-run on every
# tracked C file, failing on the first difference (ctest check_format). Skipped,
# with a line saying so, where no clang-format is installed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CF=""
for c in clang-format-14 clang-format; do command -v "$c" >/dev/null && { CF=$c; break; }; done
[ -n "$CF" ] || { echo "check_format: no clang-format: skipped"; exit 0; }
files=$(git ls-files 'include/*.h' 'lib/*.c' 'lib/*.h' 'cli/*.c' 'cli/*.h' 'tests/c/*.c' 'tests/c/*.h' \
        'tests/bench/*.c' 'fuzz/*.c' 'fuzz/*.h' 2>/dev/null || true)
[ -n "$files" ] || { echo "check_format: not a git checkout: skipped"; exit 0; }
# shellcheck disable=SC2086
"$CF" --dry-run -Werror $files && echo "check_format: ok"
