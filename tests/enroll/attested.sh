#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attested CSRs (docs/enrollment.md "Attested requests"): on a factory-fresh TPM, the factory
# step makes the IDevID and the IAK; the IAK gets an OEM certificate out of band (the
# EK-authenticated factory exchange that issues it is not used here) written to NV
# 0x01C90001 with tpm2-tools like the fixture's NV certificates. Then the owner CA with
# --require-attestation accepts the LDevID, a service identity and its re-key, each request
# carrying the IAK's TPM2_Certify of its key, and status says "attested"; and it refuses,
# each for its own reason: a request without evidence (est.attestation = never), a software
# key's request (openssl req), evidence for another key (a TPM2_Certify of the IDevID in a
# request for a software key), evidence bound to another request (qualifying data), and an
# IAK certificate not from the OEM root, expired, or whose keyUsage does not allow
# digitalSignature. The device's exit code and message are checked.
# With "rsa" as third argument the IAK, the IDevID, the LDevID and the first service key are
# RSA 2048 (the certification is an RSASSA signature, the attested public area an RSA key).
# usage (under with-swtpm ek-only): attested.sh BUILD_DIR CERTIFY_KEY [rsa]
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
craft=$src/tests/enroll/craft-csr
certify_key=$2
rsa=()
[[ ${3:-} != rsa ]] || rsa=(--rsa)

# --- factory: IDevID + IAK, then the IAK's certificate out of band ---------------------------
factory_server
out=$(enroll --server "$server" idevid "${rsa[@]}" --subject "O=Devid Test OEM,CN=Attested Device,serialNumber=SN-ATT" 2>&1); rc=$?
check "idevid enrolls with the IAK beside it (exit $rc: $out)" test $rc -eq 0
est_server_stop

nv_cert() { # nv_cert INDEX CERT.pem: platform-defined, write-locked (as tests/fixture/provision.sh)
    local der=$work/nv.der
    tpm2_nvundefine -C p "$1" >/dev/null 2>&1 || true
    openssl x509 -in "$2" -outform DER -out "$der" &&
        tpm2_nvdefine -C p -s "$(stat -c %s "$der")" \
            -a "ppwrite|writedefine|ppread|ownerread|authread|no_da|platformcreate" "$1" >/dev/null &&
        tpm2_nvwrite -C p -i "$der" "$1" && tpm2_nvwritelock -C p "$1"
}
# an IAK certificate as the TCG profile has it: an end entity whose key signs
printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n' >"$work/iak.ext"
issue_iak() { # issue_iak CA_NAME OUT.pem [DAYS [EXTFILE]]: a certificate for the TPM's IAK from $pki/CA_NAME
    tpm2_readpublic -c 0x81020001 -f pem -o "$work/iak-pub.pem" >/dev/null &&
        openssl x509 -new -subj "/O=Devid Test OEM/CN=Devid Test IAK SN-ATT" \
            -force_pubkey "$work/iak-pub.pem" -CA "$pki/$1.pem" -CAkey "$pki/$1.key" \
            -days "${3:-30}" -extfile "${4:-$work/iak.ext}" -out "$2" 2>/dev/null
}
# iak_valid_between FROM_DAYS TO_DAYS OUT.pem: an OEM certificate for the TPM's IAK valid from
# now+FROM to now+TO days (python3-cryptography: OpenSSL 3.5's x509 refuses `-days -1`, and 3.0
# has no option to set notBefore)
iak_valid_between() {
    tpm2_readpublic -c 0x81020001 -f pem -o "$work/iak-pub.pem" >/dev/null &&
        python3 - "$1" "$2" "$work/iak-pub.pem" "$pki/oem-ca.pem" "$pki/oem-ca.key" "$3" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
days_from, days_to = int(sys.argv[1]), int(sys.argv[2])
pub = serialization.load_pem_public_key(open(sys.argv[3], "rb").read())
ca = x509.load_pem_x509_certificate(open(sys.argv[4], "rb").read())
key = serialization.load_pem_private_key(open(sys.argv[5], "rb").read(), None)
now = datetime.datetime.now(datetime.timezone.utc)
usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                      data_encipherment=False, key_agreement=False, key_cert_sign=False,
                      crl_sign=False, encipher_only=False, decipher_only=False)
cert = (x509.CertificateBuilder().subject_name(x509.Name.from_rfc4514_string("CN=Devid Test IAK SN-ATT"))
        .issuer_name(ca.subject).public_key(pub).serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=days_from))
        .not_valid_after(now + datetime.timedelta(days=days_to))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256()))
open(sys.argv[6], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
PY
}
check "IAK certificate issued by the OEM CA" issue_iak oem-ca "$work/iak.pem"
check "IAK certificate written to NV 0x01C90001" nv_cert 0x01C90001 "$work/iak.pem"
iak=$(enroll --json status | jq -r '.identities[] | select(.name=="iak") | [.certificate.source, .chain.status] | join(" ")')
check "status: IAK with its certificate ($iak)" test "$iak" = "NV 0x01c90001 valid"

# --- accepted: LDevID, service identity, re-key ----------------------------------------------
owner_server --require-attestation "$pki/oem-ca.pem"
out=$(DEVID_LOG=debug enroll --server "$server" ldevid "${rsa[@]}" 2>&1); rc=$?
check "attested LDevID accepted (exit $rc: $out)" test $rc -eq 0
attestation_of_last() { jq -s -r '[.[] | select(.op == "simpleenroll" or .op == "simplereenroll")] | last | .attestation' "$work/owner.log"; }
check_match "the owner CA verified the LDevID's evidence" "^TPM2_Certify by IAK" attestation_of_last
attested_of() { enroll --json status | jq -r ".identities[] | select(.name==\"$1\") | .attested"; }
check_out "status --json: LDevID attested" true attested_of ldevid
check_match "status: LDevID attested (text)" "attested: yes" enroll status
# tpm2-tss writes its own ERROR:/WARNING: lines to stderr when a command fails (e.g. the TPM out
# of object slots because the key to certify was loaded twice); core lets them through at
# DEVID_LOG=debug (TSS2_LOG all+WARNING, core/core.c), so these requests run at that level: a
# normal attested request gives tpm2-tss nothing to say (stderr above and below: 2>&1)
no_tss_noise() { ! grep -E '^(ERROR|WARNING):' <<<"$1"; } # (the lines found: the check's log)
check "no tpm2-tss ERROR/WARNING line in the attested LDevID enrollment" no_tss_noise "$out"

out=$(DEVID_LOG=debug enroll --server "$server" enroll telemetry "${rsa[@]}" 2>&1); rc=$?
tpm_attested=$(grep -oE '[0-9]+ TPM command' <<<"$out" | cut -d' ' -f1)
check "attested service identity accepted (exit $rc: $out)" test $rc -eq 0
check "no tpm2-tss ERROR/WARNING line in the attested service enrollment" no_tss_noise "$out"
# the new key is loaded once (after TPM2_Create) for the TPM2_Certify and the CSR's signature
loads() { grep -c 'TPM command [0-9]*: Esys_Load$' <<<"$1"; }
check_out "the attested service enrollment loads its new key once" 1 loads "$out"
check_match "the owner CA verified the service identity's evidence" "^TPM2_Certify by IAK" attestation_of_last
service_attested() { enroll --json status | jq -r ".service_identities[] | select(.name==\"$1\") | .attested"; }
check_out "status --json: service identity attested" true service_attested telemetry
check_match "status: service identity attested (text)" "telemetry \(service identity\): .*attested: yes" \
    bash -c "OPENSSL_MODULES=$modules $enroll_bin status | tr '\n' ' '"
record_of() { echo "$DEVID_STORE/attested/$(openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1)"; }
old_record=$(record_of "$DEVID_STORE/telemetry-chain.pem")
check "the attested record of the service certificate is in the store" test -f "$old_record"
# made with the store's modes whatever the umask (022 here), so a record directory made by
# root (the station's owner step) is still the group's: the service user's renewals replace
# records in it and its retire removes them (unlink needs write permission on the directory)
modes() { echo $(stat -c %a "$@"); }
check_out "the record directory and file have the store's modes" "2770 640" \
    modes "$DEVID_STORE/attested" "$old_record"
old=$(serial_of_cert "$DEVID_STORE/telemetry-chain.pem")
out=$(DEVID_LOG=debug enroll --server "$server" renew --force --rekey telemetry 2>&1); rc=$?
echo "# TPM commands of an attested re-key: $(grep -oE '[0-9]+ TPM command' <<<"$out" | cut -d' ' -f1)"
check "attested re-key accepted (exit $rc: $out)" test $rc -eq 0
check "no tpm2-tss ERROR/WARNING line in the attested re-key" no_tss_noise "$out"
check_out "the attested re-key loads two keys once each (the old for TLS, the new)" 2 loads "$out"
check "re-key gave a new certificate" test "$(serial_of_cert "$DEVID_STORE/telemetry-chain.pem")" != "$old"
check_match "the owner CA verified the new key's evidence" "^TPM2_Certify by IAK" attestation_of_last
check "the replaced certificate's record is gone" test ! -e "$old_record"
check "the new certificate's record is there" test -f "$(record_of "$DEVID_STORE/telemetry-chain.pem")"
out=$(DEVID_LOG=debug enroll --server "$server" renew --force --rekey LDevID 2>&1); rc=$?
check "attested LDevID re-key accepted (exit $rc: $out)" test $rc -eq 0
check "no tpm2-tss ERROR/WARNING line in the attested LDevID re-key" no_tss_noise "$out"
check_out "status --json: re-keyed LDevID attested" true attested_of ldevid
check_out "status --json: re-keyed service identity attested" true service_attested telemetry

# with proof-of-possession as well: the CSR bound to the TLS connection carries the evidence
est_server_stop
owner_server --require-attestation "$pki/oem-ca.pem" --pop
out=$(enroll --server "$server" enroll bound 2>&1); rc=$?
check "attested request with proof-of-possession accepted (exit $rc: $out)" test $rc -eq 0
pop_and_attestation() { jq -s -r '[.[] | select(.op == "simpleenroll")] | last | [.pop, (.attestation | split(" ")[0])] | join(" ")' "$work/owner.log"; }
check_out "the owner CA checked both" "ok TPM2_Certify" pop_and_attestation
est_server_stop
owner_server --require-attestation "$pki/oem-ca.pem"

# --- refused by the device's own requests ----------------------------------------------------
write_conf <<<'attestation = never'
check_fails "request without evidence refused (exit 4)" \
    "HTTP 403: attestation refused: attestation required: the CSR has no evidence attribute" \
    enroll --server "$server" enroll noevidence
check "exit code of that refusal is 4" bash -c "OPENSSL_MODULES=$modules $enroll_bin --server $server enroll noevidence2 >/dev/null 2>&1; test \$? -eq 4"
check "nothing left of the refused identity" test "$(count_label noevidence)" -eq 0
write_conf </dev/null
out=$(enroll --server "$server" renew --force LDevID 2>&1); rc=$?
check "re-enrollment (same key) carries evidence too (exit $rc: $out)" test $rc -eq 0
check_out "status --json: LDevID still attested" true attested_of ldevid
est_server_stop
# a server that does not ask for attestation: the certificate is not recorded as attested
write_conf <<<'attestation = never'
owner_server
out=$(enroll --server "$server" renew --force LDevID 2>&1); rc=$?
check "re-enrollment without evidence (exit $rc: $out)" test $rc -eq 0
check_out "status --json: LDevID no longer attested" false attested_of ldevid
out=$(DEVID_LOG=info enroll --server "$server" enroll plain 2>&1); rc=$?
tpm_plain=$(grep -oE '[0-9]+ TPM command' <<<"$out" | cut -d' ' -f1)
echo "# TPM commands of a service enrollment: $tpm_attested attested, $tpm_plain without evidence"
check "service identity without evidence (exit $rc: $out)" test $rc -eq 0
check_out "status --json: that service identity not attested" false service_attested plain
check_match "status: not attested (text)" "attested: no" enroll status
write_conf </dev/null
est_server_stop

# an IAK certificate from another CA: the device sends it, the owner CA refuses
check "rogue IAK certificate (owner CA, not the OEM root)" issue_iak owner-ca "$work/iak-rogue.pem"
check "rogue IAK certificate written to NV" nv_cert 0x01C90001 "$work/iak-rogue.pem"
owner_server --require-attestation "$pki/oem-ca.pem"
check_fails "IAK certificate not from the OEM root refused (exit 4)" \
    "HTTP 403: attestation refused: the IAK certificate does not chain to the OEM root" \
    enroll --server "$server" enroll rogue
check "nothing left of the refused identity" test "$(count_label rogue)" -eq 0
# an OEM IAK certificate that expired yesterday (notAfter a day before now): the
# device does not send it as evidence (the owner CA would refuse it: a crafted request below).
# auto: a warning naming the index and notAfter, the request sent without evidence (which this
# CA refuses as unattested); always: exit 2 saying so, nothing asked of the CA
check "expired IAK certificate from the OEM CA" iak_valid_between -30 -1 "$work/iak-expired.pem"
check "expired IAK certificate written to NV" nv_cert 0x01C90001 "$work/iak-expired.pem"
iso_time() { date -u -d "$(openssl x509 -in "$1" -noout "-$2" | cut -d= -f2)" '+%Y-%m-%d %H:%M:%SZ'; }
expired_after=$(iso_time "$work/iak-expired.pem" enddate)
check_fails "expired IAK certificate, auto: sent without evidence, refused as unattested (exit 4)" \
    "HTTP 403: attestation refused: attestation required: the CSR has no evidence attribute" \
    enroll --server "$server" enroll expired
cp "$work/check.log" "$work/expired-auto.log"
check "expired IAK certificate, auto: the warning names the index and notAfter ($(grep warning "$work/expired-auto.log"))" \
    grep -qF "devid-enroll: warning: the IAK certificate (NV 0x01c90001) has expired (notAfter $expired_after): the request is sent without evidence (est.attestation = auto)" "$work/expired-auto.log"
write_conf <<<'attestation = always'
enrolls() { jq -s '[.[] | select(.op == "simpleenroll")] | length' "$work/owner.log"; }
requests=$(enrolls)
check_fails "expired IAK certificate, always: refused by the device" \
    "est.attestation = always, but the IAK certificate \(NV 0x01c90001\) has expired \(notAfter $expired_after\): no evidence for the request" \
    enroll --server "$server" enroll expired-always
check "expired IAK certificate, always: exit 2" \
    bash -c "OPENSSL_MODULES=$modules $enroll_bin --server $server enroll expired-always >/dev/null 2>&1; test \$? -eq 2"
check "expired IAK certificate, always: no request to enroll sent" test "$(enrolls)" -eq "$requests"
# one not valid until tomorrow (notBefore a day after now): the same, said so
check "IAK certificate not valid yet, from the OEM CA" iak_valid_between 1 30 "$work/iak-future.pem"
check "IAK certificate not valid yet written to NV" nv_cert 0x01C90001 "$work/iak-future.pem"
check_fails "IAK certificate not valid yet, always: refused by the device" \
    "est.attestation = always, but the IAK certificate \(NV 0x01c90001\) is not valid yet \(notBefore $(iso_time "$work/iak-future.pem" startdate), notAfter " \
    enroll --server "$server" enroll future-always
check "IAK certificate not valid yet, always: no request to enroll sent" test "$(enrolls)" -eq "$requests"
write_conf </dev/null
check_fails "IAK certificate not valid yet, auto: sent without evidence" \
    "HTTP 403: attestation refused: attestation required: the CSR has no evidence attribute" \
    enroll --server "$server" enroll future
cp "$work/check.log" "$work/future-auto.log"
check "IAK certificate not valid yet, auto: warned" \
    grep -q "warning: the IAK certificate (NV 0x01c90001) is not valid yet" "$work/future-auto.log"
check "nothing left of these identities" \
    test "$(count_label expired)$(count_label expired-always)$(count_label future)$(count_label future-always)" = 0000
# and one whose keyUsage does not allow digitalSignature: the device sends it, the owner CA refuses
printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, keyAgreement\n' >"$work/iak-nosign.ext"
check "IAK certificate without digitalSignature from the OEM CA" \
    issue_iak oem-ca "$work/iak-nosign.pem" 30 "$work/iak-nosign.ext"
check "IAK certificate without digitalSignature written to NV" nv_cert 0x01C90001 "$work/iak-nosign.pem"
check_fails "IAK certificate whose keyUsage does not allow signing refused (exit 4)" \
    "HTTP 403: attestation refused: the IAK certificate's keyUsage does not allow digitalSignature" \
    enroll --server "$server" enroll nosign
check "nothing left of the refused identity" test "$(count_label nosign)" -eq 0
check "OEM IAK certificate back in NV" nv_cert 0x01C90001 "$work/iak.pem"

# --- refused: requests made by hand (posted with curl, no TLS client auth needed) ------------
est_server_stop
est_server_start "$work" --ca-cert "$pki/owner-ca.pem" --ca-key "$pki/owner-ca.key" \
    --require-attestation "$pki/oem-ca.pem" --log "$work/policy.log"
post() { # post CSR.der: prints "HTTP STATUS: BODY"
    base64 -w 64 "$1" >"$1.b64"
    local code
    code=$(curl -sS --cacert "$work/est-trust.pem" -H "Content-Type: application/pkcs10" \
        --data-binary "@$1.b64" -o "$1.reply" -w '%{http_code}' "$EST_URL/simpleenroll")
    echo "HTTP $code: $(tr '\n' ' ' <"$1.reply")"
}
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/soft.key" \
    -subj "/O=Devid Test Owner/CN=software" -outform DER -out "$work/soft.der" 2>/dev/null
check_match "software key CSR (openssl req) refused" \
    "^HTTP 403: attestation refused: attestation required: the CSR has no evidence attribute" \
    post "$work/soft.der"

# evidence for another key: the IAK certifies the IDevID, bound to this request's key and
# subject, in a request for a software key
rm -f "$work/craft.key"
subject="O=Devid Test Owner,CN=crafted"
q=$("$craft" qualify "$work/craft.key" "$subject")
certify() { "$certify_key" 0x81020000 "$1" "$work"; } # TPM2_Certify of the IDevID by the IAK
check "TPM2_Certify of the IDevID by the IAK" certify "$q"
"$craft" build "$work/craft.key" "$subject" "$work/attest.bin" "$work/sig.bin" \
    "$work/public.bin" "$work/iak.pem" >"$work/other-key.der"
check_match "evidence for another key (the IDevID) refused" \
    "^HTTP 403: attestation refused: the attested key is not the CSR's key" post "$work/other-key.der"
# the same evidence with qualifying data of another request
check "TPM2_Certify with another request's qualifying data" certify "$(printf '%064x' 7)"
"$craft" build "$work/craft.key" "$subject" "$work/attest.bin" "$work/sig.bin" \
    "$work/public.bin" "$work/iak.pem" >"$work/replayed.der"
check_match "evidence bound to another request refused" \
    "^HTTP 403: attestation refused: the certification's qualifying data is not SHA-256 of this CSR" \
    post "$work/replayed.der"
# an expired IAK certificate (which devid-enroll no longer sends) with valid evidence otherwise
check "TPM2_Certify for the crafted request" certify "$q"
"$craft" build "$work/craft.key" "$subject" "$work/attest.bin" "$work/sig.bin" \
    "$work/public.bin" "$work/iak-expired.pem" >"$work/expired.der"
check_match "expired IAK certificate refused by the owner CA" \
    "^HTTP 403: attestation refused: the IAK certificate expired on " post "$work/expired.der"
# the certification's qualifiedSigner: the TPM's passes; a handle, or the certified key's own
# qualified name, in its place is refused
check_out "qualifiedSigner checks on the TPM's certification" \
    "tpm: accepted
handle: refused: the certification's qualifiedSigner is not the qualified name of a key (40000007)
itself: refused: the certification's signer is the certified key (the IAK certified itself)" \
    python3 "$src/tests/enroll/signer-name.py" "$work/attest.bin" "$src/tests/est-server"
# (the key comparison is the policy's last check: that refusal also shows the crafted
# evidence passed the chain, signature, qualifying data, name and attribute checks)
est_server_stop

# --- a device without IAK certificate: est.attestation = always fails, auto sends none -------
tpm2_nvundefine -C p 0x01C90001 >/dev/null 2>&1
owner_server --require-attestation "$pki/oem-ca.pem"
write_conf <<<'attestation = always'
check_fails "attestation = always without IAK certificate: refused by the device" \
    "est.attestation = always, but the IAK has no certificate" \
    enroll --server "$server" enroll always
check "exit code 2 (configuration)" bash -c "OPENSSL_MODULES=$modules $enroll_bin --server $server enroll always >/dev/null 2>&1; test \$? -eq 2"
write_conf </dev/null
check_fails "auto without IAK certificate: a request without evidence, which this CA refuses" \
    "HTTP 403: attestation refused: attestation required: the CSR has no evidence attribute" \
    enroll --server "$server" enroll auto
check "nothing left of either" test "$(count_label always)$(count_label auto)" = 00
est_server_stop
check "retire" enroll retire --yes
check "retire removed the attested records" test ! -e "$DEVID_STORE/attested"
summary "attested${3:+ ($3)}"
