#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every devid.conf setting the code accepts is documented in devid.conf(5) and
# docs/devid.conf.example. Usage: conf-settings.sh SOURCE_ROOT
# Settings are read from the parsers' key tables ({ "name", V_KIND, ... } rows in core/,
# { "name", K_KIND, ... } rows in enroll/); fewer than 30 found means the table format changed
# and this test must follow it.
set -u
root=${1:?usage: conf-settings.sh SOURCE_ROOT}
mapfile -t keys < <(grep -ohE '\{ *"[a-z_]+(\.[a-z_]+)?", *[VK]_[A-Z_]+' "$root"/core/*.c "$root"/enroll/*.c |
    sed -E 's/^\{ *"([^"]+)".*/\1/' | sort -u)
if [ "${#keys[@]}" -lt 30 ]; then
    echo "FAIL: found only ${#keys[@]} settings in the key tables: has their format changed?"
    exit 1
fi
failed=0
for key in "${keys[@]}"; do
    leaf=${key##*.}
    # the man page: an entry `.BI leaf " = VALUE"` (sections give the prefix)
    if ! grep -qE "^\.BI ${leaf} \" = " "$root/docs/devid.conf.5"; then
        echo "FAIL: devid.conf(5) does not document '$key'"
        failed=1
    fi
    # the example file: "#leaf = ..." or "leaf = ..." (under its [section])
    if ! grep -qE "^#? *${leaf} *=" "$root/docs/devid.conf.example"; then
        echo "FAIL: docs/devid.conf.example does not show '$key'"
        failed=1
    fi
done
[ "$failed" -eq 0 ] && echo "ok: ${#keys[@]} settings, each in devid.conf(5) and devid.conf.example"
exit $failed
