#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# format-check.sh: every C file of the tree is formatted as .clang-format says
# (clang-format --dry-run -Werror). The files are git's tracked ones (and new untracked ones)
# when this is a git work tree, otherwise every .c/.h under the source directories (the Debian
# 13 part of CI runs in a root without git). The code avoids the few constructs that
# clang-format 14 (Debian 12) and 19 (Debian 13) lay out differently, so one tree passes on both.
#   meson test -C build --suite lint format      (fix: clang-format -i FILE...)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null; then
    echo "format: $clang_format not found (Debian package clang-format)" >&2
    exit 1
fi
if command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked files and new ones not yet added; deleted ones need no format
    mapfile -t files < <({ git ls-files -- '*.c' '*.h'
                           git ls-files --others --exclude-standard -- '*.c' '*.h'; } |
                         sort -u | while read -r f; do [[ -e $f ]] && echo "$f"; done)
else
    mapfile -t files < <(find core enroll ossl-provider pkcs11 tests \
                             \( -name '*.c' -o -name '*.h' \) -type f | sort)
fi
if [[ ${#files[@]} -lt 100 ]]; then # (a wrong directory would check nothing and pass)
    echo "format: only ${#files[@]} C files found under $root: wrong directory?" >&2
    exit 1
fi
echo "format: checking ${#files[@]} C files with $("$clang_format" --version)"
if ! "$clang_format" --dry-run -Werror "${files[@]}"; then
    echo "format: fix with: $clang_format -i FILE... (the files named above)" >&2
    exit 1
fi
