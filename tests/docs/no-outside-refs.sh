#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The repository stands on its own: no tracked file may point at design notes that live
# outside it (a sibling "shared" directory, DESIGN.md, KEYD-CONTRACT.md). The design is
# docs/design.md, the keyd consumer contract docs/keyd.md.
# Usage: no-outside-refs.sh SOURCE_ROOT
set -u
root=${1:?usage: no-outside-refs.sh SOURCE_ROOT}
cd "$root" || exit 1
self=tests/docs/no-outside-refs.sh
# -I: text files only; the pattern is split so this file does not match itself by accident.
pattern='\.\./shared|/shared/|DESIGN''\.md|KEYD-CONTRACT'
if command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    hits=$(git grep -n -I -E "$pattern" -- . ":(exclude)$self")
else # a source tree without git (a release tarball): every file but build trees
    hits=$(grep -rnIE --exclude-dir=.git --exclude-dir='build*' "$pattern" . |
        grep -v "^\./$self:")
fi
if [ -n "$hits" ]; then
    echo "FAIL: files refer to documents outside the repository:"
    echo "$hits"
    echo "Say it in the project's own words, or point at docs/design.md / docs/keyd.md."
    exit 1
fi
echo "ok: no tracked file refers outside the repository"
