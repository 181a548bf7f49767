#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The TPM killed in the middle of a re-key (devid-enroll renew --rekey), through the devidfault
# TCTI (tcti_fault.c): at TPM2_Create of the new key (swtpm then stays down until restarted),
# and at either TPM2_EvictControl (removing the old LDevID, persisting the new one), before
# the command reaches the TPM or after it ran with its response lost (swtpm restarted at
# once). Each time: the renewal fails with exit 3 and a message naming the TPM (and saying
# whether the identity is unchanged or the re-key is in progress), a consumer
# (the provider, a new process) still signs with the LDevID and the certificate it sees
# verifies that signature, and the next plain `devid-enroll renew` completes the rotation
# (status valid, no pending object, chain file and key matching). A TPM2_Create whose TPM
# comes back at once is retried by core: that re-key just completes.
# usage (under with-swtpm ecc): kill-rotation.sh BUILD_DIR LIBTSS2_TCTI_DEVIDFAULT
set -uo pipefail
# shellcheck source=../enroll/lib.sh
. "$(dirname "$0")/../enroll/lib.sh" "$1"
fault_tcti=$2:$DEVID_TCTI

usable() { # usable LABEL [CHAIN_FILE]: the key signs, the certificate verifies it
    local cert=${2:-devid:object=$1;type=cert}
    echo "kill test" >"$work/msg"
    rm -f "$work/sig"
    ossl pkeyutl -provider devid -provider default -sign -inkey "devid:object=$1" -rawin \
        -digest sha256 -in "$work/msg" -out "$work/sig" 2>/dev/null &&
        ossl pkeyutl -provider devid -provider default -verify -certin -inkey "$cert" -rawin \
            -digest sha256 -in "$work/msg" -sigfile "$work/sig" >/dev/null 2>&1
}

owner_server
check "LDevID usable before" usable LDevID "$DEVID_STORE/ldevid-chain.pem"
store_before=$(ls "$DEVID_STORE")

# cc when skip kill-command what
cases=(
    "0x153 kill-before-response 0 stop TPM2_Create (TPM stays down)"
    "0x153 kill-before-command 0 stop TPM2_Create (TPM stays down)"
    "0x120 kill-before-command 0 restart EvictControl removing the old key, not executed"
    "0x120 kill-before-response 0 restart EvictControl removing the old key, response lost"
    "0x120 kill-before-command 1 restart EvictControl persisting the new key, not executed"
    "0x120 kill-before-response 1 restart EvictControl persisting the new key, response lost"
)
for c in "${cases[@]}"; do
    read -r cc when skip kill what <<<"$c"
    out=$(DEVID_TCTI=$fault_tcti DEVID_FAULT="cc=$cc action=$when skip=$skip" \
        DEVID_FAULT_KILL="'$DEVID_FIXTURE/swtpm-ctl' $kill" \
        enroll --server "$server" renew --force --rekey LDevID 2>&1)
    rc=$?
    echo "killed at $what, $when: exit $rc: $(grep -v '^devidfault' <<<"$out" | tr '\n' ' ')"
    check "$what ($when): the kill happened" grep -q "^devidfault: killing" <<<"$out"
    check "$what ($when): exit 3, TPM unreachable (got $rc)" test $rc -eq 3
    check "$what ($when): the error names the TPM" grep -qi "tpm" <<<"$(grep -v '^devidfault' <<<"$out")"
    if [ "$cc" = 0x120 ]; then # the new pair was stored before: the message must not say "unchanged"
        check "$what ($when): says the re-key is in progress" grep -q "re-key is in progress" <<<"$out"
    else
        check "$what ($when): says the identity is unchanged" grep -q "identity is unchanged" <<<"$out"
    fi
    if [ "$kill" = stop ]; then
        check "$what: store unchanged while the TPM is down" test "$(ls "$DEVID_STORE")" = "$store_before"
        "$DEVID_FIXTURE/swtpm-ctl" start
    fi
    check "$what ($when): the LDevID is usable right after" usable LDevID
    out=$(enroll --server "$server" renew LDevID 2>&1)
    rc=$?
    check "$what ($when): the next renew completes (exit $rc: $out)" test $rc -eq 0
    check "$what ($when): LDevID valid afterwards" test "$(status_of ldevid)" = valid
    check "$what ($when): no pending object" test "$(count_label 'LDevID.pending')" -eq 0
    check "$what ($when): key and chain file match" usable LDevID "$DEVID_STORE/ldevid-chain.pem"
done
# TPM2_Create changes nothing in the TPM: when the TPM comes back at once core creates the key
# again on the new connection and the re-key just completes.
out=$(DEVID_TCTI=$fault_tcti DEVID_FAULT="cc=0x153 action=kill-before-response" \
    DEVID_FAULT_KILL="'$DEVID_FIXTURE/swtpm-ctl' restart" \
    enroll --server "$server" renew --force --rekey LDevID 2>&1)
rc=$?
check "TPM2_Create killed, TPM back at once: the kill happened" grep -q "^devidfault: killing" <<<"$out"
check "TPM2_Create killed, TPM back at once: the re-key completes (exit $rc: $out)" test $rc -eq 0
check "TPM2_Create killed, TPM back at once: LDevID valid" test "$(status_of ldevid)" = valid
check "TPM2_Create killed, TPM back at once: no pending object" test "$(count_label 'LDevID.pending')" -eq 0
check "TPM2_Create killed, TPM back at once: key and chain file match" usable LDevID "$DEVID_STORE/ldevid-chain.pem"
summary kill-rotation
