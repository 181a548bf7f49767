#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# devid-enroll status against the fixture: text and JSON output, and every documented exit code.
# usage (under with-swtpm VARIANT): status.sh DEVID_ENROLL VARIANT
set -uo pipefail
enroll=$1
variant=$2
work=$DEVID_FIXTURE
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
json_get() { # json_get JQ_FILTER < json
    jq -r "$1"
}

out=$("$enroll" status); rc=$?
json=$("$enroll" --json status)
case $variant in
ecc | rsa)
    check "healthy device exits 0" test $rc -eq 0
    check "text names the IDevID handle" grep -q "persistent handle 0x81020000" <<<"$out"
    check "text shows the chain as valid" grep -q "chain:    valid" <<<"$out"
    check "JSON: healthy" test "$(json_get '.healthy' <<<"$json")" = true
    check "JSON: IDevID cert from NV" \
        test "$(json_get '.identities[] | select(.name=="idevid") | .certificate.source' <<<"$json")" = "NV 0x01c90000"
    serial=$(cat "$DEVID_FIXTURE/pki/device-serial")
    check "JSON: 802.1AR serial in the IDevID subject" \
        grep -q "serialNumber=$serial" <<<"$(json_get '.identities[] | select(.name=="idevid") | .certificate.subject' <<<"$json")"
    want_type="EC P-256"
    [ "$variant" = rsa ] && want_type="RSA 2048"
    check "JSON: LDevID key type" \
        test "$(json_get '.identities[] | select(.name=="ldevid") | .key.type' <<<"$json")" = "$want_type"
    check "JSON: IAK absent" \
        test "$(json_get '.identities[] | select(.name=="iak") | .present' <<<"$json")" = false

    # a certificate that is not for the TPM key: attention (1), and said why
    cp "$DEVID_STORE/ldevid-chain.pem" "$DEVID_FIXTURE/ldevid.bak"
    cat "$DEVID_FIXTURE/pki/owner-ca.pem" "$DEVID_FIXTURE/pki/owner-ca.pem" >"$DEVID_STORE/ldevid-chain.pem"
    out=$("$enroll" status); rc=$?
    check "mismatched LDevID cert exits 1" test $rc -eq 1
    check "mismatch reported" grep -q "key-mismatch" <<<"$out"
    # an unknown issuer: untrusted
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj /CN=stranger -days 1 -out "$DEVID_STORE/ldevid-chain.pem" 2>/dev/null
    out=$("$enroll" status); rc=$?
    check "garbage-free but foreign cert exits 1" test $rc -eq 1
    printf 'not a pem\n' >"$DEVID_STORE/ldevid-chain.pem"
    out=$("$enroll" status 2>&1); rc=$?
    check "unreadable LDevID cert exits 1" test $rc -eq 1
    check "unreadable cert explained" grep -q "no-certificate" <<<"$out"
    cp "$DEVID_FIXTURE/ldevid.bak" "$DEVID_STORE/ldevid-chain.pem"
    ;;
ek-only)
    check "EK-only device exits 0" test $rc -eq 0
    check "IDevID absent" grep -q "^IDevID: absent" <<<"$out"
    check "EK present" grep -q "^EK (RSA):" <<<"$out"
    ;;
esac

# no trust anchors configured: not an error, but said
DEVID_CONF=/dev/null "$enroll" status >"$DEVID_FIXTURE/out.txt"; rc=$?
check "no anchors: exit 0" test $rc -eq 0
[ "$variant" = ek-only ] || check "no anchors: said" grep -q "no-trust-anchors" "$DEVID_FIXTURE/out.txt"

# configuration error: exit 2 with file:line
printf 'bogus = 1\n' >"$DEVID_FIXTURE/bad.conf"
err=$(DEVID_CONF=$DEVID_FIXTURE/bad.conf "$enroll" status 2>&1); rc=$?
check "bad config exits 2" test $rc -eq 2
check "bad config names file:line" grep -q "bad.conf:1: unknown key 'bogus'" <<<"$err"
"$enroll" frobnicate 2>/dev/null; rc=$?
check "unknown command exits 2" test $rc -eq 2

# no TPM: exit 3, quickly, with a clear message
err=$(DEVID_TCTI=swtpm:host=127.0.0.1,port=9 "$enroll" status 2>&1); rc=$?
check "no TPM exits 3" test $rc -eq 3
check "no TPM explained" grep -q "no TPM reachable" <<<"$err"

summary "status[$variant]"
