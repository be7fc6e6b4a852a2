#!/bin/sh
# Run a command with a private, small tmpfs over /dev/shm (its own mount namespace),
# e.g. to see what shmchunk does when shared memory is full:
#   tools/reliability/private_shm.sh 8m build/tools/shmchunk pack big.pkl shm:x
# Needs root (or CAP_SYS_ADMIN) for unshare -m; the real /dev/shm is never touched.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 SIZE COMMAND [ARGS...]" >&2
    exit 2
fi
size=$1
shift
exec unshare -m --propagation private sh -c \
    'mount -t tmpfs -o size="$0",mode=1777 tmpfs /dev/shm && exec "$@"' "$size" "$@"
