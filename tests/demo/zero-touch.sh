#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo's steps, run under tests/fixture/with-swtpm ek-only (see tests/demo/zero-touch).
# Each step checks what it claims (the servers' own logs, status --json, the TPM) and dies
# otherwise; the lines it prints say what was proven.
set -uo pipefail
. "$(dirname "$0")/../enroll/lib.sh" "$1"
t_start=$(date +%s%N)
step_start=0
step() {
    step_start=$(date +%s%N)
    printf '\n== %s\n' "$*"
}
done_step() { printf '   (%d ms)\n' $((($(date +%s%N) - step_start) / 1000000)); }
die() {
    echo "demo: FAILED: $*" >&2
    exit 1
}
tls_server() { # a TLS server with a software key that requires a client certificate
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost -days 1 -keyout "$work/srv.key" \
        -out "$work/srv.pem" 2>/dev/null
    mkfifo "$work/srv.in"
    sleep 1000 >"$work/srv.in" &
    feeder=$!
    openssl s_server -accept 0 -naccept 100 -cert "$work/srv.pem" -key "$work/srv.key" \
        -Verify 2 -verify_return_error -CAfile "$pki/owner-ca.pem" -www <"$work/srv.in" \
        >"$work/srv.log" 2>&1 &
    srv=$!
    for _ in $(seq 600); do # (ends early if s_server died)
        tls_port=$(grep -oE 'ACCEPT .*:[0-9]+' "$work/srv.log" 2>/dev/null | grep -oE '[0-9]+$' || true)
        [ -n "$tls_port" ] && break
        kill -0 "$srv" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$tls_port" ] || die "TLS server did not start"
}
stop_tls_server() { kill "$srv" "$feeder" 2>/dev/null || true; }

# the last logged request of OP in LOG (a server's own record): the field FIELD
last_of() { jq -s -r --arg op "$2" --arg f "$3" '[.[] | select(.op == $op)] | last | .[$f] // "-"' "$1"; }
say() { printf '   %s\n' "$@"; }
identity_attested() { # identity_attested NAME: status --json says issued on TPM evidence
    enroll --json status | jq -e --arg n "$1" \
        '[.identities[], .service_identities[]] | any(.name == $n and .attested == true)' >/dev/null
}

step "A factory-fresh device: the TPM holds only its EK (swtpm at $DEVID_TCTI)"
enroll status | sed -n '/^EK (RSA)/,/chain/p'
enroll status | grep -E '^(IDevID|IAK|LDevID):'
[ "$(status_of idevid)" = absent ] || die "the TPM is not factory-fresh (IDevID present)"
done_step

step "Factory station: IAK and IDevID, enrolled on the EK's attestation (est.factory_mode = attested)"
printf 'factory_mode = attested\n' | write_conf
# the OEM's station CA, in its factory role: it trusts the TPM vendor's CA for EK certificates
# (and still wants the station's password and header secret)
factory_server --ek-ca "$pki/vendor-ca.pem"
enroll --server "$server" idevid \
    --subject "O=Devid Test OEM,OU=Devid Test Device Model 1,CN=Devid Test Device,serialNumber=SN-$$" ||
    die "IDevID enrollment on EK attestation"
est_server_stop
[ "$(last_of "$work/factory.log" attest-enroll status)" = 200 ] || die "the OEM CA did not issue on attestation"
[ "$(status_of idevid)" = valid ] || die "IDevID certificate"
[ "$(status_of iak)" = valid ] || die "IAK certificate"
tpm2_readpublic -c 0x81020001 -f pem -o "$work/iak-pub.pem" >/dev/null || die "the IAK's public key"
tpm2_nvread 0x01c90001 -C o 2>/dev/null | openssl x509 -inform DER -noout -pubkey >"$work/iak-cert-pub.pem" ||
    die "the IAK certificate in NV 0x01C90001"
cmp -s "$work/iak-pub.pem" "$work/iak-cert-pub.pem" || die "the IAK certificate in NV is not for the IAK"
for index in 0x01c90000 0x01c90001; do
    tpm2_nvreadpublic "$index" 2>/dev/null | grep -E 'friendly:.*writelocked' | grep -q platformcreate ||
        die "NV $index is not platform-written and write-locked"
done
say "IAK and IDevID certificates issued on EK attestation. The OEM CA checked:" \
    " - the EK certificate (read from NV) chains to the TPM vendor's CA: a genuine TPM;" \
    " - the IAK is a restricted signing key and the IDevID an unrestricted one, both fixedTPM," \
    "   fixedParent, sensitiveDataOrigin: generated inside a TPM, they cannot leave it;" \
    " - the IAK's TPM2_Certify of the IDevID key over the CA's fresh nonce, and that the CSR" \
    "   is for that certified key;" \
    "then sealed both certificates to this TPM (TPM2_MakeCredential to the EK, with the IAK's" \
    "name): only the TPM holding that EK and that IAK opens them (TPM2_ActivateCredential, done)." \
    "Written into NV 0x01C90000 (IDevID) and 0x01C90001 (IAK), platform-written and write-locked."
for name in idevid iak; do
    identity_attested "$name" || die "status does not say the $name certificate is attested"
done
[ -f "$(dirname "$DEVID_CONF")/factory-attested/$(tpm2_nvread 0x01c90000 -C o 2>/dev/null |
    sha256sum | cut -d' ' -f1)" ] || die "no record of the IDevID certificate beside the configuration"
say "Recorded, before the NV writes, beside the configuration (factory-attested/, root's like" \
    "devid.conf, not the group-writable store): status shows IDevID and IAK as attested."
write_conf </dev/null
done_step

step "Owner: the LDevID, over EST authenticated by the IDevID, its key attested by the IAK"
# the owner's CA certifies only keys that the IAK, certified by the OEM root, proves are in a TPM
owner_server --require-attestation "$pki/oem-ca.pem"
enroll --server "$server" ldevid || die "LDevID enrollment"
evidence=$(last_of "$work/owner.log" simpleenroll attestation)
[[ $evidence == "TPM2_Certify by IAK"* ]] || die "the owner CA did not verify the LDevID's evidence ($evidence)"
identity_attested ldevid || die "status does not say the LDevID is attested"
say "LDevID certificate issued on attested evidence. The CSR carried the IAK's TPM2_Certify of" \
    "the new key (its qualifying data: SHA-256 of the CSR's key and subject, so the evidence" \
    "cannot be moved to another request) and the IAK certificate; the owner CA checked that the" \
    "IAK certificate chains to the OEM root, the certification's signature and qualifying data," \
    "that the certified name is the CSR key's and that the key is fixedTPM and fixedParent." \
    "The owner CA's record: $evidence"
done_step

step "Field: operational identities device-ca and device-id, authenticated by the LDevID, attested"
for name in device-ca device-id; do
    enroll --server "$server" enroll "$name" || die "$name"
    evidence=$(last_of "$work/owner.log" simpleenroll attestation)
    [[ $evidence == "TPM2_Certify by IAK"* ]] || die "the owner CA did not verify $name's evidence ($evidence)"
    identity_attested "$name" || die "status does not say $name is attested"
    say "$name: its key certified by the IAK in the CSR, checked by the owner CA"
done
done_step

step "The owner CA refuses a CSR for a software key, even from the authenticated device"
# A program on the device that may use the LDevID for TLS makes a key in software and asks the
# owner CA to certify it: a genuine TLS client certificate (the LDevID, through the provider),
# a well-formed CSR, but no TPM evidence for its key.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/soft.key" \
    -subj "/O=Devid Test Owner/CN=device-id" -outform DER -out "$work/soft.der" 2>/dev/null ||
    die "software-key CSR"
base64 -w 64 "$work/soft.der" >"$work/soft.b64"
{
    printf 'POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost:%s\r\n' "$EST_PORT"
    printf 'Content-Type: application/pkcs10\r\nContent-Transfer-Encoding: base64\r\n'
    printf 'Content-Length: %d\r\nConnection: close\r\n\r\n' "$(stat -c %s "$work/soft.b64")"
    cat "$work/soft.b64"
} >"$work/soft.http"
ossl s_client -provider devid -provider default -connect "localhost:$EST_PORT" -quiet \
    -key devid:object=LDevID -cert "$DEVID_STORE/ldevid-chain.pem" -CAfile "$work/est-trust.pem" \
    -verify_return_error <"$work/soft.http" >"$work/soft.reply" 2>"$work/soft.err" ||
    die "the request did not reach the owner CA: $(tail -3 "$work/soft.err")"
answer=$(head -1 "$work/soft.reply" | tr -d '\r')
reason=$(last_of "$work/owner.log" simpleenroll error)
say "request: openssl req (key in a file), sent with openssl s_client and the LDevID's TLS key" \
    "owner CA: $answer: $reason" \
    "Why: TLS proves who asks (the device), not where the new key lives. Without the IAK's" \
    "certification of the CSR's key the CA cannot know it was made in this TPM, so it issues" \
    "nothing."
[[ $answer == "HTTP/1."?" 403"* ]] || die "the owner CA did not refuse the software key ($answer)"
[[ $reason == *"attestation required: the CSR has no evidence attribute"* ]] ||
    die "the owner CA refused for another reason ($reason)"
[ "$(last_of "$work/owner.log" simpleenroll client_cert)" != - ] || die "the request was not authenticated"
done_step

step "devid-enroll status: every identity valid, and each issued on TPM evidence"
# ("attested" in status is the device's own record: for the IDevID and the IAK, of the
# EK-attested exchange, kept beside the configuration; for the LDevID and the service
# identities, of an attested CSR, kept in the store)
enroll status | grep -E '^[A-Za-z].*:|chain:|attested:' || true
for name in idevid iak ldevid device-ca device-id; do
    identity_attested "$name" || die "status does not say $name is attested"
done
done_step

step "Mutual TLS with device-id through the OpenSSL provider: openssl s_client, then curl"
tls_server
echo Q | ossl s_client -provider devid -provider default -connect "localhost:$tls_port" \
    -key devid:object=device-id -cert "$DEVID_STORE/device-id-chain.pem" \
    -CAfile "$work/srv.pem" -verify_return_error -brief 2>&1 | grep -E 'Verification|Protocol' ||
    die "openssl s_client"
cat >"$work/openssl.cnf" <<CNF
openssl_conf = conf
[conf]
providers = providers
[providers]
devid = devid_section
default = default_section
[devid_section]
activate = 1
[default_section]
activate = 1
CNF
ossl pkey -provider devid -provider default -in devid:object=device-id -out "$work/device-id.ref" 2>/dev/null ||
    die "reference file"
if [ -n "${ossl_preload:-}" ]; then
    # curl deadlocks at start-up with the ASan runtime preloaded (its own problem, not ours);
    # the normal build's demo and tests/provider cover this step
    echo "(curl step not run in a sanitizer build)"
else
    code=$(OPENSSL_MODULES=$modules OPENSSL_CONF=$work/openssl.cnf timeout 60 \
        curl -s -o /dev/null -w '%{http_code}' --cacert "$work/srv.pem" \
        --cert "$DEVID_STORE/device-id-chain.pem" --key "$work/device-id.ref" \
        "https://localhost:$tls_port/") || true
    echo "curl with the TPM key: HTTP $code"
    [ "$code" = 200 ] || die "curl"
fi
done_step

step "Mutual TLS with device-ca through PKCS#11: gnutls-cli with pkcs11: URIs"
if [ -n "${ossl_preload:-}" ]; then
    # tools linking libp11-kit hang at exit with the ASan runtime preloaded; tests/pkcs11 and
    # the normal build's demo cover this step
    echo "(gnutls-cli step not run in a sanitizer build)"
elif [ -e "$build/pkcs11/devid-pkcs11.so" ]; then
    echo Q | timeout 60 gnutls-cli --provider "$build/pkcs11/devid-pkcs11.so" \
        --x509cafile "$work/srv.pem" -p "$tls_port" localhost \
        --x509keyfile "pkcs11:token=DevID;object=device-ca;type=private" \
        --x509certfile "$DEVID_STORE/device-ca-chain.pem" 2>&1 | grep -E 'Handshake was completed|Description' ||
        die "gnutls-cli"
else
    echo "(the PKCS#11 module is not built in this tree)"
fi
stop_tls_server
done_step

step "Renewal with new keys: device-id and the LDevID (old pair kept until the new one is verified)"
before=$(openssl x509 -in "$DEVID_STORE/device-id-chain.pem" -noout -pubkey | sha256sum | cut -c1-16)
enroll --server "$server" renew --force --rekey device-id LDevID || die "renewal"
after=$(openssl x509 -in "$DEVID_STORE/device-id-chain.pem" -noout -pubkey | sha256sum | cut -c1-16)
echo "device-id public key: $before -> $after"
[ "$before" != "$after" ] || die "re-key"
renewals=$(jq -s -r '[.[] | select(.op == "simplereenroll")] | .[-2:][] | .attestation // "-"' "$work/owner.log")
[ "$(grep -c '^TPM2_Certify by IAK' <<<"$renewals")" = 2 ] ||
    die "the owner CA did not verify the new keys' evidence: $renewals"
for name in ldevid device-id; do
    identity_attested "$name" || die "status does not say $name's new key is attested"
done
say "each new key certified by the IAK in its CSR and checked by the owner CA, as at enrollment"
done_step

step "What the servers received (their own record): secrets only where they belong, TPM evidence in every CSR but the software key's"
printf '   %-15s %-6s %-9s %-7s %-26s %s\n' request status password header client-certificate "evidence (the CA's verdict)"
for log in factory owner; do
    echo "   -- $log server"
    # the lines of received (lib.sh) beside the owner CA's verdict on each request's evidence
    paste <(received "$work/$log.log") \
        <(jq -s -r 'sort_by(.seq // 0)[] | select(.op != null) | . as $r | (.attestation // "-") |
            if startswith("TPM2_Certify by IAK") then "verified: the IAK certified the key"
            elif $r.op == "attest-enroll" and $r.status == 200 then
                "EK certificate (\($r.ek_key)) verified; sealed to this TPM"
            else sub(" \\(id-aa-evidence.*"; "") end' "$work/$log.log") |
        awk -F'\t' '{printf "   %-15s %-6s %-9s %-7s %-26s %s\n", $1, $2, $3, $4, substr($5, 1, 26), $6}'
done
unattested=$(jq -s -r '.[] | select((.op == "simpleenroll" or .op == "simplereenroll") and .status == 200
    and ((.attestation // "") | startswith("TPM2_Certify by IAK") | not)) | .op' "$work/owner.log")
[ -z "$unattested" ] || die "the owner CA issued a certificate without verified evidence"
all_secrets "$work/factory.log" attest-enroll || die "a factory enrollment went without the station's credentials"
no_secrets "$work/factory.log" cacerts || die "a secret went with /cacerts"
no_secrets "$work/owner.log" || die "the owner's server received the station's password or header"
done_step

step "Final status"
enroll status | grep -E '^[A-Za-z].*:|chain:|attested: yes' || true
enroll status >/dev/null || die "an identity needs attention"
printf '\n== zero-touch demo done in %d ms\n' $((($(date +%s%N) - t_start) / 1000000))
