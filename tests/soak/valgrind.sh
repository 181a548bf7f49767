#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# valgrind.sh CMD [ARGS...]: runs CMD under valgrind memcheck; exits 1 (and prints valgrind's
# report) on any memory error or definitely lost block, else with CMD's own status.
# Suppressions (valgrind.supp) cover only one-time allocations of third-party libraries.
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: valgrind is not installed (it is in .ci/packages.txt: .ci/install-deps)" >&2
    exit 1
fi
export DEVID_TEST_VALGRIND=1 # tests skip RSS checks and shorten loops (see keyd-replay.c)
exec valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --num-callers=40 --suppressions="$here/valgrind.supp" "$@"
