#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The IAK through the front-ends, on a TPM that had only its EK: once made (and given a
# certificate in its NV index), PKCS#11 and the provider show its public key and certificate;
# a signature over caller data is refused with each API's "not permitted" code, never a
# TPM error; devid-enroll status shows it with its certificate.
# usage (under with-swtpm ek-only): frontends.sh IAK_SETUP DEVID_ENROLL
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../pkcs11/lib.sh"
setup=$1
enroll=$2
P=(-provider-path "${DEVID_PROVIDER_DIR:?}" -provider devid -provider default)

p11 --list-objects >"$work/before" 2>&1 || true
check "no IAK object before it is made" bash -c "! grep -q 'label: *IAK' '$work/before'"
check "IAK made, certificate in NV 0x01c90001" "$setup" "$work/iak.pem"
openssl x509 -in "$work/iak.pem" -noout -pubkey >"$work/iak.certpub.pem"
id=$(cert_id "$work/iak.pem")

# ---- devid-enroll status ----------------------------------------------------------------------
# (exit 1: the test CA is not a configured trust anchor, so the chain needs attention)
"$enroll" --json status >"$work/status.json" 2>&1 || true
iak_json=$(jq -c '.identities[] | select(.name=="iak")' "$work/status.json" || true)
check "status --json: IAK key and certificate ($iak_json)" \
    test "$(jq -r '[.key.handle, .key.type, .key.restricted, .certificate.source, .certificate.subject] | join(" ")' <<<"$iak_json")" = "0x81020001 EC P-256 true NV 0x01c90001 CN=Test IAK"
"$enroll" status >"$work/status.txt" 2>&1 || true
check "status text: IAK with its certificate" \
    bash -c "sed -n '/^IAK:/,/^\$/p' '$work/status.txt' | grep -q 'cert: *NV 0x01c90001'"

# ---- PKCS#11 --------------------------------------------------------------------------------
p11 --list-objects >"$work/objects" 2>&1 || true
check "PKCS#11: IAK private key, certificate and public key listed" \
    test "$(grep -c 'label: *IAK$' "$work/objects")" -eq 3
check "PKCS#11: IAK public key is the certified one" \
    cmp <("$DEVID_P11_PUBKEY" "$M" "$id") "$work/iak.certpub.pem"
p11 --read-object --type cert --id "$id" -o "$work/iak.der" >/dev/null 2>&1 || true
check "PKCS#11: IAK certificate is the one in NV" \
    cmp "$work/iak.der" <(openssl x509 -in "$work/iak.pem" -outform DER)
check "PKCS#11: the IAK private key does not sign (CKA_SIGN false)" \
    bash -c "grep -A8 '^Private Key Object' '$work/objects' | grep -A6 'label: *IAK$' | grep -q 'Usage: *none'"
openssl dgst -sha256 -binary "$work/iak.pem" >"$work/hash"
check_fails "PKCS#11: C_SignInit with the IAK is CKR_KEY_FUNCTION_NOT_PERMITTED" \
    "CKR_KEY_FUNCTION_NOT_PERMITTED" p11 --sign -m ECDSA --id "$id" -i "$work/hash" -o "$work/sig"

# ---- provider (through `tool`: the sanitizer runtime first in sanitizer builds) ---------------
ossl() { tool openssl "$@"; }
ossl pkey "${P[@]}" -in 'devid:object=IAK' -pubout -out "$work/p.pub.pem" >/dev/null 2>&1 || true
check "provider: IAK public key is the certified one" cmp "$work/p.pub.pem" "$work/iak.certpub.pem"
ossl storeutl "${P[@]}" -certs 'devid:object=IAK;type=cert' >"$work/p.store" 2>&1 || true
sed -n '/^-----BEGIN /,/^-----END /p' "$work/p.store" >"$work/p.cert.pem"
check "provider: IAK certificate" \
    cmp <(openssl x509 -in "$work/p.cert.pem" -outform DER) \
        <(openssl x509 -in "$work/iak.pem" -outform DER)
sign_iak() { ossl pkeyutl "${P[@]}" -sign -inkey "devid:object=IAK" -in "$work/hash" -out "$work/sig2"; }
check_fails "provider: signing with the IAK fails at sign init" "Error initializing context" sign_iak
check_fails "provider: ... saying why" "restricted \(an attestation key\)" sign_iak
check_fails "provider: dgst -sign with the IAK fails at init" "Error setting context" \
    ossl dgst "${P[@]}" -sha256 -sign "devid:object=IAK" -out "$work/sig3" "$work/hash"
check "provider: no signature written" test ! -s "$work/sig2"

summary iak-frontends
