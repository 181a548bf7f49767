#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# units.sh UNIT... : the installed systemd units are sandboxed and their timer does what it says.
#  - systemd-analyze security --offline=true rates each service <= 2.5 (it reads the unit files
#    alone: no running systemd needed);
#  - the services run as the devid user with the TPM group, no capabilities, the store the only
#    path written, and start after the TPM and the clock;
#  - the timer's Persistent= has a wall-clock (OnCalendar=) schedule to act on.
set -uo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"

max_exposure=2.5
for unit in "$@"; do
    name=${unit##*/}
    case $name in
    *.service)
        out=$(cd "$(dirname "$unit")" && systemd-analyze security --offline=true --no-pager "$name" 2>&1)
        score=$(sed -n "s/.*Overall exposure level for $name: \([0-9.]*\).*/\1/p" <<<"$out")
        check "$name: an exposure level was reported" test -n "$score"
        check "$name: exposure ${score:-?} <= $max_exposure" \
            awk -v s="${score:-99}" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'
        for want in User=devid Group=devid SupplementaryGroups=tss 'DeviceAllow=/dev/tpmrm0 rw' \
            DevicePolicy=closed ProtectSystem=strict CapabilityBoundingSet= NoNewPrivileges=yes \
            PrivateTmp=yes ProtectHome=yes 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
            SystemCallFilter=@system-service; do
            check "$name: $want" grep -qxF "$want" "$unit"
        done
        check "$name: one writable path, the store" \
            bash -c "[[ \$(grep -c '^ReadWritePaths=' '$unit') == 1 ]] && grep -qx 'ReadWritePaths=/[^ ]*' '$unit'"
        check "$name: ordered after the TPM" grep -qE '^After=.*(tpm2\.target|dev-tpmrm0\.device)' "$unit"
        check "$name: ordered after the clock is set" grep -qE '^After=.*time-sync\.target' "$unit"
        check "$name: not running as root" bash -c "! grep -qE '^User=(root|0)?\$' '$unit'"
        ;;
    *.timer)
        # Persistent= only remembers OnCalendar= elapses (systemd.timer(5))
        if grep -qx 'Persistent=true' "$unit"; then
            check "$name: Persistent=true has an OnCalendar= schedule" grep -q '^OnCalendar=' "$unit"
        fi
        cal=$(sed -n 's/^OnCalendar=//p' "$unit")
        check "$name: OnCalendar=$cal parses" systemd-analyze calendar "$cal"
        ;;
    esac
done
finish
