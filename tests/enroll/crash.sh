#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kill -9 at every step of a renewal with a new key, for a service identity and for the
# LDevID: afterwards the device holds a usable identity (the old one or the new one, key and
# certificate matching), and the next devid-enroll run finishes or discards the rotation.
# usage (under with-swtpm ecc): crash.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
chain=$DEVID_STORE/device-id-chain.pem

# The key behind a label signs, and the certificate verifies that signature: the certificate
# the token holds for the label (what PKCS#11 and provider consumers see: consistent at every
# step), or a chain file (what file consumers see: consistent once a run has recovered).
usable() { # usable LABEL [CHAIN_FILE]
    local cert=${2:-devid:object=$1;type=cert}
    echo "crash test" >"$work/msg"
    rm -f "$work/sig"
    ossl pkeyutl -provider devid -provider default -sign -inkey "devid:object=$1" -rawin \
        -digest sha256 -in "$work/msg" -out "$work/sig" 2>/dev/null &&
        ossl pkeyutl -provider devid -provider default -verify -certin -inkey "$cert" -rawin \
            -digest sha256 -in "$work/msg" -sigfile "$work/sig" >/dev/null 2>&1
}

# The same through the PKCS#11 module: pkcs11-tool signs with the private key labelled LABEL
# (by its CKA_ID: pkcs11-tool 0.23 ignores --label when it picks a signing key), and the
# certificate the token holds under that label verifies the signature (ECC fixture).
p11_usable() { # p11_usable LABEL
    local p11=(pkcs11-tool --module "$build/pkcs11/devid-pkcs11.so") id
    [ -n "$ossl_preload" ] && p11=(env "LD_PRELOAD=$ossl_preload" ASAN_OPTIONS=detect_leaks=0 "${p11[@]}")
    echo "crash test" >"$work/msg"
    rm -f "$work/p11sig" "$work/p11cert.der"
    id=$("${p11[@]}" --list-objects --type privkey 2>/dev/null |
        awk -v l="$1" '$1 == "label:" { hit = ($2 == l) } hit && $1 == "ID:" { print $2; exit }')
    [ -n "$id" ] &&
        "${p11[@]}" --sign --id "$id" -m ECDSA-SHA256 --signature-format openssl \
            -i "$work/msg" -o "$work/p11sig" >/dev/null 2>&1 &&
        "${p11[@]}" --read-object --type cert --label "$1" -o "$work/p11cert.der" >/dev/null 2>&1 &&
        openssl x509 -inform DER -in "$work/p11cert.der" -pubkey -noout >"$work/p11pub.pem" &&
        openssl dgst -sha256 -verify "$work/p11pub.pem" -signature "$work/p11sig" "$work/msg" >/dev/null
}

owner_server
enroll --server "$server" enroll device-id >/dev/null 2>&1
check "device-id enrolled" usable device-id "$chain"
check "LDevID: a PKCS#11 consumer signs with it" p11_usable LDevID

for point in pending-key pending-cert chain-written relabelled; do
    DEVID_ENROLL_CRASH_AT=$point enroll --server "$server" renew --force --rekey device-id >/dev/null 2>&1
    rc=$?
    check "device-id: killed at $point (exit $rc)" test $rc -eq 137
    check "device-id: usable right after a crash at $point" usable device-id
    out=$(enroll --server "$server" renew device-id 2>&1)
    check "device-id: the next run recovers after $point ($out)" test "$(count_label device-id)" -eq 1
    check "device-id: no pending object after $point" test "$(count_label 'device-id.pending')" -eq 0
    check "device-id: usable after recovery from $point" usable device-id "$chain"
done
DEVID_ENROLL_CRASH_AT=reenrolled enroll --server "$server" renew --force device-id >/dev/null 2>&1
check "device-id: usable after a crash right after re-enrolling" usable device-id
enroll --server "$server" renew device-id >/dev/null 2>&1
check "device-id: chain file consistent after the next run" usable device-id "$chain"

# A power cut keeps only the renames whose directory was fsync'd; where one directory fsync
# serves two renames, either may be lost alone. A kill cannot show that: these states are
# made by hand (the lost rename undone) and the next run must end with one whole identity.
attr_of() { grep -l "^label=$1\$" "$DEVID_STORE"/*.attr; } # attr_of LABEL: the group's file
# re-key: the relabelling kept, the chain file's rename lost (one fsync for both)
cp "$chain" "$work/chain.before"
DEVID_ENROLL_CRASH_AT=relabelled enroll --server "$server" renew --force --rekey device-id >/dev/null 2>&1
cp "$work/chain.before" "$chain"
out=$(enroll --server "$server" renew device-id 2>&1)
check "device-id: one group after a lost chain file ($out)" test "$(count_label device-id)" -eq 1
check "device-id: the old identity after a lost chain file" usable device-id "$chain"
check "device-id: ... the one the chain file names" cmp -s "$chain" "$work/chain.before"
# re-enroll (same key): the certificate's rename lost, the chain file's kept, or the reverse
crt=$(attr_of device-id)
crt=${crt%.attr}.crt
cp "$crt" "$work/crt.before"
cp "$chain" "$work/chain.before"
enroll --server "$server" renew --force device-id >/dev/null 2>&1
cp "$work/crt.before" "$crt"
check "device-id: usable with the old certificate and the new chain file" usable device-id "$chain"
check "device-id: ... and through the token's certificate" usable device-id
check "device-id: the chain file is the new one" bash -c "! cmp -s '$chain' '$work/chain.before'"
enroll --server "$server" renew --force device-id >/dev/null 2>&1
cp "$work/chain.before" "$chain"
check "device-id: usable with the new certificate and the old chain file" usable device-id "$chain"
check "device-id: ... and through the token's certificate" usable device-id

# old-key-removed is the window between the two TPM commands of a re-key (evict the old key,
# persist the new one) where the LDevID handle is empty; at new-key-persisted the handle has
# the new key and the chain file still the old certificate. Consumers (the provider and the
# PKCS#11 module) still get a matching key and certificate: the pending pair (core/identity.h).
for point in pending-key pending-cert old-key-removed new-key-persisted chain-written; do
    DEVID_ENROLL_CRASH_AT=$point enroll --server "$server" renew --force --rekey LDevID >/dev/null 2>&1
    rc=$?
    check "LDevID: killed at $point (exit $rc)" test $rc -eq 137
    check "LDevID: a consumer signs with it right after a crash at $point" usable LDevID
    check "LDevID: a PKCS#11 consumer signs with it right after a crash at $point" p11_usable LDevID
    case $point in
    old-key-removed | new-key-persisted)
        check "LDevID: status says the re-key is in progress at $point" \
            test "$(enroll --json status | jq -r '.identities[] | select(.name=="ldevid") | .rotation_in_progress')" = true
        check "LDevID: status exit 1 (attention) at $point" bash -c "OPENSSL_MODULES='$modules' '$enroll_bin' status >/dev/null; test \$? -eq 1"
        ;;
    esac
    out=$(enroll --server "$server" renew LDevID 2>&1)
    check "LDevID: valid after recovery from $point ($out)" test "$(status_of ldevid)" = valid
    check "LDevID: no pending object after $point" test "$(count_label 'LDevID.pending')" -eq 0
    check "LDevID: usable after $point" usable LDevID "$DEVID_STORE/ldevid-chain.pem"
done
summary crash
