#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The EK-attested factory step (est.factory_mode = attested) on a TPM whose owner and
# endorsement hierarchies have auth values (the ek-only-hauth fixture: an owner or OEM ran
# tpm2_changeauth). Each step needs: creating the IDevID and IAK (endorsement primaries) the
# endorsement auth, persisting them the owner's, the EK's policy for TPM2_ActivateCredential
# (PolicySecret) the endorsement auth again; TPM2_Certify and status none. Without the setting
# or with a wrong value: one attempt, an error naming the setting (and the file), nothing
# stored, the dictionary-attack lockout counter untouched; a setting that is missing while the
# TPM says the hierarchy has a value is found before the CA is asked. Last, a deployed device
# (platform hierarchy disabled): the owner's auth for the NV certificate indices.
# usage (under with-swtpm ek-only-hauth): factory-attest-hierarchy.sh BUILD_DIR CERTIFY_KEY
# (CERTIFY_KEY: tests/core/certify_key.c, TPM2_Certify of a key by the IAK)
set -uo pipefail
certify_key=$2
. "$(dirname "$0")/lib.sh" "$1"
subject="O=Devid Test OEM,OU=Devid Test Device Model 1,CN=Devid Test Device,serialNumber=SN-4243"
owner_auth=$(<"$pki/owner-auth")
owner_line="owner_auth_file = $pki/owner-auth"
endorsement_line="endorsement_auth_file = $pki/endorsement-auth"
printf 'not-the-endorsement-auth\n' >"$work/wrong-endorsement-auth"
printf 'not-the-owner-auth\n' >"$work/wrong-owner-auth"
chmod 600 "$work"/wrong-*-auth
wrong_endorsement_line="endorsement_auth_file = $work/wrong-endorsement-auth"
wrong_owner_line="owner_auth_file = $work/wrong-owner-auth"

conf() { # conf [AUTH LINE...]: the attested factory configuration with these hierarchy settings
    hierarchy_auth=$(printf '%s\n' "$@")
    printf 'factory_mode = attested\n' | write_conf
}
attest_server() {
    est_server_start "$work" --ca-cert "$pki/oem-ca.pem" --ca-key "$pki/oem-ca.key" \
        --log "$work/attest.log" "$@"
    server=https://localhost:$EST_PORT
}
lockout_counter() { # (tpm2_getcap says it in hex)
    echo $(($(tpm2_getcap properties-variable | sed -n 's/^ *TPM2_PT_LOCKOUT_COUNTER: *//p')))
}
persistent() { tpm2_getcap handles-persistent | tr 'A-F' 'a-f' | sed 's/^- //' | sort | tr '\n' ' '; }
transient() { tpm2_getcap handles-transient | grep -c 0x; }
sessions() { { tpm2_getcap handles-loaded-session; tpm2_getcap handles-saved-session; } | grep -c 0x; }
no_certs() { ! tpm2_getcap handles-nv-index | tr 'A-F' 'a-f' | grep -qE '0x1c90000|0x1c90001'; }
# the TPM's refusals of an authorisation, as tpm2-tss logged them (TPM_RC_BAD_AUTH or
# TPM_RC_AUTH_FAIL for the command's first session): each is one attempt with a hierarchy value
auth_refusals() { grep -ciE 'ErrorCode \(0x0000(09a2|098e)\)' "$1"; }
ops() { jq -s -r '[.[] | .op] | join(" ")' "$work/attest.log"; }
# run_idevid NAME: devid-enroll idevid against $server; output in $work/NAME.out, exit in $rc
run_idevid() {
    rc=0
    DEVID_LOG=debug TSS2_LOG=esys+error enroll --server "$server" idevid --subject "$subject" \
        >"$work/$1.out" 2>&1 || rc=$?
}
# refused NAME PATTERN [TRIES]: the run exited 2 (configuration), said PATTERN, sent a
# hierarchy value TRIES times (default 1: once, never again), and the lockout counter did not
# grow
refused() {
    local name=$1 pattern=$2 tries=${3:-1}
    check "$name: exit 2 ($(tail -n 3 "$work/$name.out"))" test "$rc" -eq 2
    check "$name: the message says '$pattern'" grep -qE -- "$pattern" "$work/$name.out"
    check "$name: refused by the TPM $tries time(s) ($(auth_refusals "$work/$name.out"))" \
        test "$(auth_refusals "$work/$name.out")" -eq "$tries"
    if [[ $tries -eq 1 ]]; then
        check "$name: says it is not retried" grep -q '^devid-enroll idevid: .*(not retried)$' "$work/$name.out"
    fi
    check "$name: lockout counter $lockout_before -> $(lockout_counter)" \
        test "$(lockout_counter)" -le $((lockout_before + 1))
    check "$name: no object left loaded" test "$(transient)" -eq 0
    check "$name: no session left in the TPM" test "$(sessions)" -eq 0
    check "$name: nothing in NV" no_certs
}
lockout_before=$(lockout_counter)
echo "# lockout counter at the start: $lockout_before"
attest_server --ek-ca "$pki/vendor-ca.pem"

# --- status never needs a hierarchy auth: on the fresh TPM, without any setting
conf
out=$(enroll status 2>&1); rc=$?
check "status without the settings, fresh TPM: no configuration error (exit $rc)" test "$rc" -ne 2
check "status without the settings: no hierarchy is asked for" bash -c "! grep -q auth_file <<<\"\$1\"" _ "$out"

# --- creating the keys: the endorsement auth (CreatePrimary), then the owner's (EvictControl)
# keys_refused NAME PATTERN SETTING...: with these settings making the keys is refused
# (refused NAME PATTERN) and no key is made
keys_refused() {
    local name=$1 pattern=$2
    shift 2
    conf "$@"
    run_idevid "$name"
    refused "$name" "$pattern"
    check "$name: no key made" test "$(persistent)" = "0x81010001 "
}
keys_refused no-endorsement-create "creating the key in the endorsement hierarchy: the TPM's endorsement hierarchy has an auth value: set endorsement_auth_file" \
    "$owner_line"
keys_refused wrong-endorsement-create "refused the auth value in endorsement_auth_file \\($work/wrong-endorsement-auth\\)" \
    "$owner_line" "$wrong_endorsement_line"
keys_refused no-owner-persist "TPM2_EvictControl\\): the TPM's owner hierarchy has an auth value: set owner_auth_file" \
    "$endorsement_line"
keys_refused wrong-owner-persist "refused the auth value in owner_auth_file \\($work/wrong-owner-auth\\)" \
    "$endorsement_line" "$wrong_owner_line"
check "no request to enroll while the keys could not be made ($(ops))" \
    bash -c "! grep -q attest <<<\"\$1\"" _ "$(ops)"

# --- the keys made with both settings, the CA refusing (an EK vendor it does not trust):
# IDevID and IAK stay, without certificates (the resumable state)
est_server_stop
attest_server --ek-ca "$pki/owner-ca.pem"
conf "$owner_line" "$endorsement_line"
run_idevid keys-made
check "keys made, the CA refusing: exit 4 ($(tail -n 2 "$work/keys-made.out"))" test "$rc" -eq 4
check "keys made: IDevID and IAK persistent" test "$(persistent)" = "0x81010001 0x81020000 0x81020001 "
check "keys made: the TPM refused no authorisation" test "$(auth_refusals "$work/keys-made.out")" -eq 0
est_server_stop

# --- the keys in place: opening them and TPM2_Certify of the IDevID by the IAK need no
# hierarchy; the EK's policy (PolicySecret of the endorsement hierarchy) for
# TPM2_ActivateCredential needs the endorsement auth, and the owner's is not needed. Without
# the setting, that is known from the TPM's permanent attributes before the CA is asked: no
# nonce, no request, nothing sent to the TPM with a hierarchy value
attest_server --ek-ca "$pki/vendor-ca.pem"
: >"$work/attest.log"
conf "$owner_line"
run_idevid no-endorsement-activate
refused no-endorsement-activate "TPM2_ActivateCredential with the EK .*: the TPM's endorsement hierarchy has an auth value: set endorsement_auth_file" 0
check "no-endorsement-activate: the CA was not asked to enroll ($(ops))" \
    bash -c "! grep -q attest <<<\"\$1\"" _ "$(ops)"

# a wrong value is found by its one use: the policy session's TPM2_PolicySecret, after the CA
# answered (the CA's certificates are dropped, the keys stay for the next run)
: >"$work/attest.log"
conf "$owner_line" "$wrong_endorsement_line"
run_idevid wrong-endorsement-activate
check "wrong-endorsement-activate: the request was certified and sent" test "$(ops)" = "csrattrs attest-nonce attest-enroll"
refused wrong-endorsement-activate "PolicySecret \\(endorsement hierarchy\\) for the EK: the TPM's endorsement hierarchy refused the auth value in endorsement_auth_file \\($work/wrong-endorsement-auth\\)"
check "keys kept through the refusals" test "$(persistent)" = "0x81010001 0x81020000 0x81020001 "

# --- both settings: the exchange completes (the IAK and IDevID reused)
conf "$owner_line" "$endorsement_line"
run_idevid complete
check "with both settings: exit 0 ($(tail -n 3 "$work/complete.out"))" test "$rc" -eq 0
check "with both settings: the IAK certificate stored" grep -q "IAK: certificate issued on the EK's attestation" "$work/complete.out"
check "with both settings: the TPM refused no authorisation" test "$(auth_refusals "$work/complete.out")" -eq 0
check "the lockout counter did not grow over the whole run ($lockout_before -> $(lockout_counter))" \
    test "$(lockout_counter)" -le "$lockout_before"
est_server_stop

# --- status, without any hierarchy setting: the IDevID and IAK with their NV certificates
conf
DEVID_LOG=warn enroll --json status >"$work/status.json" 2>"$work/status.err"; rc=$?
check "status without the settings: exit 0 ($(<"$work/status.err"))" test "$rc" -eq 0
check "status without the settings: IDevID valid" test "$(jq -r '.identities[] | select(.name=="idevid") | .chain.status' "$work/status.json")" = valid
check "status without the settings: IAK valid" test "$(jq -r '.identities[] | select(.name=="iak") | .chain.status' "$work/status.json")" = valid
check "status without the settings: no hierarchy asked for" bash -c "! grep -q auth_file '$work/status.err'"

# --- the keys at work without any hierarchy setting: TPM2_Certify of the IDevID by the IAK and
# a signature by the IDevID (through the provider) need no hierarchy auth
tpm2_readpublic -c 0x81020000 -f pem -o "$work/idevid-pub.pem" >/dev/null
head -c 100 /dev/urandom >"$work/data"
check "the IDevID signs without the settings" ossl pkeyutl -sign -provider devid -provider default \
    -inkey "devid:object=IDevID" -rawin -digest sha256 -in "$work/data" -out "$work/data.sig"
check "the signature verifies" openssl pkeyutl -verify -pubin -inkey "$work/idevid-pub.pem" \
    -rawin -digest sha256 -in "$work/data" -sigfile "$work/data.sig"
check_match "devid_certify of the IDevID by the IAK without the settings" '^certified: ' \
    env TSS2_LOG=esys+error "$certify_key" 0x81020000 "$(printf fresh-nonce-0123456789 | od -An -tx1 | tr -d ' \n')"
check "devid_certify: the TPM refused no authorisation" test "$(auth_refusals "$work/check.log")" -eq 0
tpm2_flushcontext -t
check "tpm2_certify of the IDevID by the IAK needs no hierarchy auth" \
    tpm2_certify -Q -c 0x81020000 -C 0x81020001 -g sha256 -o "$work/attest.bin" -s "$work/sig.bin"

# --- a deployed device (the platform hierarchy disabled, as firmware leaves it): the owner
# defines and writes the certificate indices, with its auth value; without the setting, that is
# known before the CA is asked
for index in 0x01c90000 0x01c90001; do tpm2_nvundefine -C p $index >/dev/null; done
tpm2_hierarchycontrol -C p phEnable clear
check "the platform hierarchy is disabled" bash -c "tpm2_getcap properties-variable | grep -q 'phEnable: *0'"
attest_server --ek-ca "$pki/vendor-ca.pem"
: >"$work/attest.log"
conf "$endorsement_line"
run_idevid no-owner-nv
refused no-owner-nv "defining the certificate indices \\(the platform hierarchy is disabled: the owner defines them\\): the TPM's owner hierarchy has an auth value: set owner_auth_file" 0
check "no-owner-nv: the CA was not asked to enroll ($(ops))" \
    bash -c "! grep -q attest <<<\"\$1\"" _ "$(ops)"
# (the password factory mode likewise: nothing asked of the station's CA)
est_server_stop
factory_server
hierarchy_auth=$endorsement_line
printf 'factory_mode = password\n' | write_conf
run_idevid password-no-owner-nv
refused password-no-owner-nv "the owner defines them\\): the TPM's owner hierarchy has an auth value: set owner_auth_file" 0
check "password-no-owner-nv: the CA asked for nothing but csrattrs ($(received "$work/factory.log" | cut -f1 | tr '\n' ' '))" \
    test "$(received "$work/factory.log" | cut -f1 | tr '\n' ' ')" = "csrattrs "
est_server_stop
attest_server --ek-ca "$pki/vendor-ca.pem"
conf "$wrong_owner_line" "$endorsement_line"
run_idevid wrong-owner-nv
refused wrong-owner-nv "TPM2_NV_DefineSpace\\): the TPM's owner hierarchy refused the auth value in owner_auth_file \\($work/wrong-owner-auth\\)"
conf "$owner_line" "$endorsement_line"
run_idevid owner-nv
check "deployed device, both settings: exit 0 ($(tail -n 3 "$work/owner-nv.out"))" test "$rc" -eq 0
check "deployed device: the IDevID certificate index is the owner's" bash -c \
    "tpm2_nvreadpublic 0x01c90000 | grep -E 'friendly:' | grep -q ownerwrite"
conf
check "deployed device, status without the settings: IDevID valid" test "$(status_of idevid)" = valid
check "deployed device, status without the settings: IAK valid" test "$(status_of iak)" = valid
est_server_stop

# --- no hierarchy value (right or wrong) in anything devid said, debug log included
check "no auth value in any run's output" bash -c "! grep -qF -e '$owner_auth' -e '$(<"$pki/endorsement-auth")' -e not-the-endorsement-auth -e not-the-owner-auth $work/*.out"
check "the runs' outputs were checked ($(ls "$work"/*.out | wc -l) runs)" test "$(ls "$work"/*.out | wc -l)" -ge 12

# --- tidy: the owner removes what the test made (with its auth value)
tpm2_evictcontrol -Q -C o -P "$owner_auth" -c 0x81020000 >/dev/null
tpm2_evictcontrol -Q -C o -P "$owner_auth" -c 0x81020001 >/dev/null
summary "factory-attest-hierarchy"
