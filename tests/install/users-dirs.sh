#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# users-dirs.sh SYSUSERS-CONF TMPFILES-CONF STORE-DIR: installing devid makes the devid system
# user and group (the user in tss) and the store and /etc/devid with their group-shared modes.
# Applied by systemd-sysusers/-tmpfiles to a scratch root (no running systemd, nothing on the
# host changes), once on an empty root and once on a Debian-like one where tss exists.
set -uo pipefail
sysusers=$1 tmpfiles=$2 store=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
work=$scratch
. "$(dirname "$0")/lib.sh"

apply() { # apply ROOT
    mkdir -p "$1/etc" "$1/usr/lib/sysusers.d" "$1/usr/lib/tmpfiles.d"
    cp "$sysusers" "$1/usr/lib/sysusers.d/devid.conf"
    cp "$tmpfiles" "$1/usr/lib/tmpfiles.d/devid.conf"
    systemd-sysusers --root="$1" >"$1.log" 2>&1 &&
        systemd-tmpfiles --root="$1" --create >>"$1.log" 2>&1
}

for kind in empty debian; do
    root=$scratch/$kind
    mkdir -p "$root/etc"
    if [[ $kind == debian ]]; then # tpm-udev made tss already: its gid must be kept
        printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
        printf 'root:x:0:\ntss:x:109:\n' >"$root/etc/group"
    fi
    check "$kind: sysusers and tmpfiles apply ($(cat "$root.log" 2>/dev/null))" apply "$root"
    check "$kind: applied without complaint" bash -c "! grep -v '^Creating' '$root.log' | grep -q ."
    uid=$(awk -F: '$1=="devid" {print $3}' "$root/etc/passwd")
    gid=$(awk -F: '$1=="devid" {print $3}' "$root/etc/group")
    check "$kind: devid user ($uid) is a system user" test -n "$uid" -a "${uid:-1000}" -lt 1000
    check "$kind: devid group ($gid) is a system group" test -n "$gid" -a "${gid:-1000}" -lt 1000
    check "$kind: devid user's primary group is devid" \
        test "$(awk -F: '$1=="devid" {print $4}' "$root/etc/passwd")" = "$gid"
    check "$kind: devid user cannot log in" \
        grep -q '^devid:.*:/usr/sbin/nologin$' "$root/etc/passwd"
    check "$kind: devid user is in tss" grep -Eq '^tss:x:[0-9]+:(.*,)?devid(,.*)?$' "$root/etc/group"
    [[ $kind == debian ]] && check "debian: tss keeps its gid" grep -q '^tss:x:109:' "$root/etc/group"
    check "$kind: store $store is 2770 devid:devid" \
        test "$(stat -c '%a %u %g' "$root$store")" = "2770 $uid $gid"
    check "$kind: /etc/devid is 0750 root:devid" \
        test "$(stat -c '%a %u %g' "$root/etc/devid")" = "750 0 $gid"
    # applying again (every boot, every upgrade) changes nothing
    before=$(cat "$root/etc/passwd" "$root/etc/group"; stat -c '%a %u %g' "$root$store" "$root/etc/devid")
    apply "$root"
    check "$kind: applying again changes nothing" test "$before" = \
        "$(cat "$root/etc/passwd" "$root/etc/group"; stat -c '%a %u %g' "$root$store" "$root/etc/devid")"
done
finish
