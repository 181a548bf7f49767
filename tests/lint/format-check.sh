#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# format-check.sh: the C files changed since $DEVID_FORMAT_BASE (a commit) must be formatted as
# .clang-format says (clang-format --dry-run -Werror). Only changed files are checked: the tree
# predates .clang-format and is not reformatted wholesale. Unset base: skip (exit 77).
#   DEVID_FORMAT_BASE=origin/main meson test -C build --suite lint format-changed
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [[ -z "${DEVID_FORMAT_BASE:-}" ]]; then
    echo "format-changed: skipped: set DEVID_FORMAT_BASE to the commit to compare against"
    exit 77
fi
clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null; then
    echo "format-changed: $clang_format not found (Debian package clang-format)" >&2
    exit 1
fi
if ! git rev-parse --verify --quiet "$DEVID_FORMAT_BASE^{commit}" >/dev/null; then
    echo "format-changed: DEVID_FORMAT_BASE=$DEVID_FORMAT_BASE is not a commit here" >&2
    exit 1
fi

# Changed since the base, committed or not, and still present (deleted files need no format),
# and new files not yet added.
mapfile -t files < <({ git diff --name-only --diff-filter=d "$DEVID_FORMAT_BASE" -- '*.c' '*.h'
                       git ls-files --others --exclude-standard -- '*.c' '*.h'; } | sort -u)
if [[ ${#files[@]} -eq 0 ]]; then
    echo "format-changed: no C file changed since $DEVID_FORMAT_BASE"
    exit 0
fi
echo "format-changed: checking ${#files[@]} file(s) changed since $DEVID_FORMAT_BASE"
if ! "$clang_format" --dry-run -Werror "${files[@]}"; then
    echo "format-changed: run: $clang_format -i ${files[*]}" >&2
    exit 1
fi
