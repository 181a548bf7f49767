#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kill -9 around the factory step's IAK and the attested exchange's NV writes, on a TPM that has only its EK: after a crash the TPM
# holds only whole keys at devid's handles (no other persistent object, no certificate index
# half-written), and running the step again finishes it: IDevID enrolled, IAK beside it.
# usage (under with-swtpm ek-only): factory-crash.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
subject="O=Devid Test OEM,CN=Crash Device,serialNumber=SN-CRASH"
persistent() { tpm2_getcap handles-persistent | sed 's/^- //' | sort | tr '\n' ' '; }
ek_handles=$(persistent)

factory_server
for point in factory-before-iak factory-after-iak; do
    DEVID_ENROLL_CRASH_AT=$point enroll --server "$server" idevid --subject "$subject" >/dev/null 2>&1
    rc=$?
    check "killed at $point (exit $rc)" test $rc -eq 137
    case $point in
    factory-before-iak) want="${ek_handles}0x81020000 " ;;
    *) want="${ek_handles}0x81020000 0x81020001 " ;;
    esac
    check "after $point: persistent handles are [$want] ($(persistent))" test "$(persistent)" = "$want"
    check "after $point: no IDevID certificate index" \
        bash -c "! tpm2_getcap handles-nv-index | grep -qi 0x1c90000"
    out=$(enroll --server "$server" idevid --subject "$subject" 2>&1); rc=$?
    check "after $point: idevid again finishes ($out)" test $rc -eq 0
    check "after $point: IDevID valid" test "$(status_of idevid)" = valid
    check "after $point: IAK present" \
        test "$(enroll --json status | jq -r '.identities[] | select(.name=="iak") | .key.restricted')" = true
    check "after $point: healthy" enroll status
    # back to factory-fresh for the next point (the test's own objects only)
    tpm2_nvundefine -C p 0x01c90000 >/dev/null 2>&1 || tpm2_nvundefine 0x01c90000 >/dev/null 2>&1
    tpm2_evictcontrol -C o -c 0x81020000 >/dev/null 2>&1
    tpm2_evictcontrol -C o -c 0x81020001 >/dev/null 2>&1
    check "after $point: reset to factory-fresh" test "$(persistent)" = "$ek_handles"
done
est_server_stop

# The attested exchange (est.factory_mode = attested): killed after every check passed and the
# records were written (docs/factory.md "The record") but before anything is in NV, and between the IAK's certificate and the IDevID's. The IAK certificate
# alone is the documented resumable state: the next run repeats the exchange and replaces it.
printf 'factory_mode = attested\n' | write_conf
est_server_start "$work" --ca-cert "$pki/oem-ca.pem" --ca-key "$pki/oem-ca.key" \
    --ek-ca "$pki/vendor-ca.pem" --log "$work/attest-crash.log"
server=https://localhost:$EST_PORT
nv_has() { tpm2_getcap handles-nv-index | grep -qi "$1"; }
records=$(dirname "$DEVID_CONF")/factory-attested
attested_of() { enroll --json status | jq -r ".identities[] | select(.name==\"$1\") | .attested"; }
for point in factory-attest-before-nv factory-attest-after-iak-nv; do
    DEVID_ENROLL_CRASH_AT=$point enroll --server "$server" idevid --subject "$subject" >/dev/null 2>&1
    rc=$?
    check "attested: killed at $point (exit $rc)" test $rc -eq 137
    want="${ek_handles}0x81020000 0x81020001 "
    check "after $point: persistent handles are [$want] ($(persistent))" test "$(persistent)" = "$want"
    check "after $point: no IDevID certificate index" bash -c "$(declare -f nv_has); ! nv_has 0x1c90000"
    # the records (docs/factory.md "The record") are written before NV: whatever the crash left
    # in NV has its record; a record whose certificate never reached NV vouches for nothing
    check "after $point: both records written" test "$(ls "$records" | wc -l)" -eq 2
    if [ $point = factory-attest-before-nv ]; then
        check "after $point: no IAK certificate index" bash -c "$(declare -f nv_has); ! nv_has 0x1c90001"
    else
        check "after $point: the IAK certificate, whole" bash -c \
            "tpm2_nvread 0x01c90001 -C o 2>/dev/null | openssl x509 -inform DER -noout"
    fi
    out=$(enroll --server "$server" idevid --subject "$subject" 2>&1); rc=$?
    check "after $point: idevid again finishes ($out)" test $rc -eq 0
    check "after $point: IDevID valid" test "$(status_of idevid)" = valid
    check "after $point: IAK valid" test "$(status_of iak)" = valid
    check "after $point: IDevID attested" test "$(attested_of idevid)" = true
    check "after $point: IAK attested" test "$(attested_of iak)" = true
    check "after $point: healthy" enroll status
    rm -r "$records"
    for index in 0x01c90000 0x01c90001; do
        tpm2_nvundefine -C p $index >/dev/null 2>&1 || tpm2_nvundefine $index >/dev/null 2>&1
    done
    tpm2_evictcontrol -C o -c 0x81020000 >/dev/null 2>&1
    tpm2_evictcontrol -C o -c 0x81020001 >/dev/null 2>&1
    check "after $point: reset to factory-fresh" test "$(persistent)" = "$ek_handles"
done
est_server_stop
summary factory-crash
