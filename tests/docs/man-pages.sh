#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every man page renders without a single groff or man warning.
# Usage: man-pages.sh PAGE...
# Each page goes through `groff -man -ww -z` (all warnings, no output) and `man --warnings -l`
# (what a user's man does, with its preprocessors); any line on stderr fails the page. A
# self-check first makes sure a broken page is caught, so a silent tool cannot pass everything.
set -u
[ $# -gt 0 ] || { echo "usage: man-pages.sh PAGE..." >&2; exit 2; }
for tool in groff man; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (groff-base, man-db)"; exit 1; }
done
export LC_ALL=C.UTF-8 MANWIDTH=80
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

render() { # PAGE: prints every warning, returns non-zero if there was one
    local page=$1 out
    out=$( { groff -man -ww -z "$page"; } 2>&1; { man --warnings -E UTF-8 -l "$page" >/dev/null; } 2>&1 )
    [ -z "$out" ] && return 0
    printf '%s\n' "$out"
    return 1
}

printf '.TH BROKEN 1\n.SH NAME\nbroken \\- a page with an unknown macro\n.XYZ\n\\fBunclosed\n' \
    > "$tmp/broken.1"
if render "$tmp/broken.1" >/dev/null; then
    echo "FAIL: self-check: a page with an unknown macro rendered without warnings"
    exit 1
fi
echo "ok: self-check: a broken page is reported"

failed=0
for page in "$@"; do
    if out=$(render "$page"); then
        echo "ok: $(basename "$page")"
    else
        echo "FAIL: $(basename "$page"):"
        printf '%s\n' "$out" | sed 's/^/    /'
        failed=1
    fi
done
exit $failed
