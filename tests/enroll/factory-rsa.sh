#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The factory step's RSA option on a TPM that has only its EK: the IDevID and the IAK from the
# TCG RSA 2048 templates (the IDevID signs only: no decrypt attribute), the IDevID enrolled,
# then used for the owner's mutual TLS (the LDevID enrollment).
# usage (under with-swtpm ek-only): factory-rsa.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"

factory_server
out=$(enroll --server "$server" idevid --rsa --subject "O=Devid Test OEM,CN=RSA Device,serialNumber=SN-RSA" 2>&1); rc=$?
check "idevid --rsa enrolls ($out)" test $rc -eq 0
check "IDevID from the RSA template" grep -q "IDevID: created key at 0x81020000 (RSA 2048)" <<<"$out"
check "IAK from the RSA template" grep -q "IAK: created key at 0x81020001 (RSA 2048, restricted signing key)" <<<"$out"
check "IDevID valid" test "$(status_of idevid)" = valid
iak=$(enroll --json status | jq -r '.identities[] | select(.name=="iak") | [.key.type, .key.restricted] | join(" ")')
check "IAK in status ($iak)" test "$iak" = "RSA 2048 true"
est_server_stop

owner_server
out=$(enroll --server "$server" ldevid 2>&1); rc=$?
check "ldevid over TLS with the RSA IDevID ($out)" test $rc -eq 0
check "LDevID valid" test "$(status_of ldevid)" = valid
check "healthy" enroll status
est_server_stop
summary factory-rsa
