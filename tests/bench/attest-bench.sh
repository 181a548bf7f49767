#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# attest-bench.sh BUILD_DIR RUNS JSON: the attestation rows of the benchmark (README.md,
# "Attestation"). Run by run-bench.sh after the EST rows; it needs a TPM with only its EK, so it
# runs itself under its own tests/fixture/with-swtpm ek-only. Per operation of devid-enroll,
# RUNS times in a fresh process:
#   - the factory step (idevid) in attested mode (EK-authenticated exchange, docs/factory.md)
#     on a factory-fresh TPM (IAK and IDevID created, certificates written to NV), the same
#     with both keys already present (a factory step re-run after a refusal), and the password
#     mode on a factory-fresh TPM for comparison (its IAK is created, but gets no certificate);
#   - after the attested factory step and an attested LDevID: a service identity's enroll, its
#     re-enroll and its re-key, the LDevID's re-enroll and re-key, with attested CSRs (owner
#     CA with --require-attestation), then the same with est.attestation = never against an
#     owner CA that does not require it;
#   - after the password-mode factory step (an IAK without certificate): a service enroll and
#     re-enroll with the default est.attestation = auto (no evidence sent; the cost of looking).
# "Factory-fresh" is the EK-only state restored before each run (swtpm stopped, its state
# copied back, restarted: untimed). Columns: TPM commands of the whole process and their mix,
# from one more run at DEVID_LOG=debug (which names every command; Esys_TR_FromTPMPublic is one
# TPM2_ReadPublic or TPM2_NV_ReadPublic); the count devid-enroll logs at info level (core's
# counter over its EST context only: without the commands before it, e.g. the factory step's
# "already provisioned?" check, and the final flush), mean over the timed runs; TPM2_Sign
# count; wall time of the whole process (median, range). The debug logs are kept in JSON's directory (NAME.log under
# ${JSON%.json}.logs). Nothing is asserted but that every run succeeds.
set -uo pipefail
build=$(cd "$1" && pwd)
runs=$2
json=$3
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=rows-lib.sh
. "$here/rows-lib.sh" "attestation rows" jq openssl
if [[ $(cat "${DEVID_FIXTURE:-/nonexistent}/variant" 2>/dev/null) != ek-only ]]; then
    export DEVID_FIXTURE_CACHE=${DEVID_FIXTURE_CACHE:-$build/tests/fixture-cache}
    exec "$here/../fixture/with-swtpm" ek-only -- "$0" "$@"
fi

# shellcheck source=../enroll/lib.sh
. "$here/../enroll/lib.sh" "$build"
# (lib.sh sets work, pki, server, DEVID_* come from with-swtpm)
logs=${json%.json}.logs
rm -rf "$logs"
mkdir -p "$logs"
subject="O=Devid Test OEM,OU=Devid Test Device Model 1,CN=Devid Test Device,serialNumber=SN-BENCH"
failed=0
trap est_server_stop EXIT

# TPM states: snapshot NAME saves the TPM's state, the store and the factory records; restore
# NAME puts them back (swtpm stopped and restarted around the copy, as after a power cycle).
snapshot() {
    local d=$work/snap-$1
    rm -rf "$d" && mkdir -p "$d" &&
        "$DEVID_FIXTURE/swtpm-ctl" stop && cp -a "$DEVID_FIXTURE/tpmstate" "$DEVID_STORE" "$d/" &&
        { [[ ! -e $DEVID_FIXTURE/factory-attested ]] || cp -a "$DEVID_FIXTURE/factory-attested" "$d/"; } &&
        "$DEVID_FIXTURE/swtpm-ctl" start >/dev/null
}
restore() {
    local d=$work/snap-$1
    "$DEVID_FIXTURE/swtpm-ctl" stop &&
        rm -rf "$DEVID_FIXTURE/tpmstate" "$DEVID_STORE" "$DEVID_FIXTURE/factory-attested" &&
        cp -a "$d/tpmstate" "$d/store" "$DEVID_FIXTURE/" &&
        { [[ ! -e $d/factory-attested ]] || cp -a "$d/factory-attested" "$DEVID_FIXTURE/"; } &&
        "$DEVID_FIXTURE/swtpm-ctl" start >/dev/null
}
# (the PREP functions of row, called by name)
# shellcheck disable=SC2317
fresh() { restore fresh; }
# shellcheck disable=SC2317
keys() { restore keys; }
# shellcheck disable=SC2317
none() { :; }

# count NAME LOG: how many commands of that name the debug log shows
count() { grep -cE "TPM command [0-9]+: Esys_$1\$" "$2"; }
# row NAME LABEL PREP ARGS...: PREP (a function) before each run, untimed; RUNS timed runs of
# devid-enroll ARGS (@I replaced by the run's number), then one at debug level for the mix.
# Sets ROW_JSON.
row() {
    local name=$1 label=$2 prep=$3 i t0 out rc times=() tpm=0
    shift 3
    ROW_JSON='{}'
    for ((i = 1; i <= runs; i++)); do
        local args=("${@//@I/$i}")
        "$prep" || { echo "attestation rows: $name: TPM state not restored" >&2; failed=1; return; }
        t0=$(ms_now)
        out=$(DEVID_LOG=info enroll --server "$server" "${args[@]}" 2>&1); rc=$?
        times+=($(($(ms_now) - t0)))
        if [[ $rc -ne 0 ]]; then
            echo "attestation rows: $name run $i failed (exit $rc): $out" >&2
            failed=1
            return
        fi
        tpm=$((tpm + $(sed -nE 's/.* ([0-9]+) TPM command\(s\) in this run.*/\1/p' <<<"$out")))
    done
    local args=("${@//@I/$((runs + 1))}") log=$logs/$name.log mix
    "$prep" || { failed=1; return; }
    DEVID_LOG=debug enroll --server "$server" "${args[@]}" >"$log" 2>&1 || {
        echo "attestation rows: $name (counted run) failed: $(<"$log")" >&2
        failed=1
        return
    }
    mix=$(grep -oE 'TPM command [0-9]+: Esys_[A-Za-z_]+' "$log" | sed 's/.*Esys_//' | sort | uniq -c |
          sort -k1,1nr -k2 | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')
    local create primary certify activate policy nv signs all
    all=$(grep -cE 'TPM command [0-9]+: Esys_[A-Za-z_]+$' "$log")
    create=$(count Create "$log"); primary=$(count CreatePrimary "$log"); certify=$(count Certify "$log")
    activate=$(count ActivateCredential "$log"); policy=$(count PolicySecret "$log")
    nv=$(grep -cE 'TPM command [0-9]+: Esys_NV_[A-Za-z]+$' "$log"); signs=$(count Sign "$log")
    read -r p50 lo hi < <(printf '%s\n' "${times[@]}" | stats)
    printf '| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s–%s | %s |\n' "$label" "$runs" \
        "$all" "$(awk -v a="$tpm" -v n="$runs" 'BEGIN { printf "%.1f", a / n }')" \
        "$create" "$primary" "$certify" "$activate" "$policy" "$nv" "$signs" "$p50" "$lo" "$hi" "$mix"
    ROW_JSON=$(jq -n --arg name "$name" --arg op "$label" --argjson runs "$runs" --argjson p50 "$p50" \
        --argjson min "$lo" --argjson max "$hi" --argjson tpm "$tpm" --argjson signs "$signs" \
        --argjson create "$create" --argjson primary "$primary" --argjson certify "$certify" \
        --argjson activate "$activate" --argjson policy "$policy" --argjson nv "$nv" --arg mix "$mix" \
        --argjson all "$all" \
        '{name: $name, operation: $op, runs: $runs, wall_ms: {p50: $p50, min: $min, max: $max},
          tpm_commands_per_op: $all, tpm_commands_est_context_per_op: ($tpm / $runs),
          tpm_signatures: $signs,
          tpm_counts: {Create: $create, CreatePrimary: $primary, Certify: $certify,
                       ActivateCredential: $activate, PolicySecret: $policy, NV: $nv},
          tpm_mix: $mix}') || { failed=1; return; }
    rows+=("$ROW_JSON")
}

attest_factory() {
    est_server_start "$work" --ca-cert "$pki/oem-ca.pem" --ca-key "$pki/oem-ca.key" \
        --log "$work/bench-attest.log" "$@"
    server=https://localhost:$EST_PORT
}

echo
echo "Attestation (devid-enroll against tests/est-server on an EK-only swtpm; $runs runs each, one process per run):"
echo
echo '| operation | runs | TPM cmds | EST context | Create | CreatePrimary | Certify | ActivateCredential | PolicySecret | NV_* | TPM2_Sign | wall p50 ms | range | TPM command mix |'
echo '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|'
rows=()
write_conf <<<$'timeout = 10\nfactory_mode = attested'
snapshot fresh || { echo "attestation rows: cannot snapshot the TPM" >&2; exit 1; }
# the keys-present state: a refused attested exchange (EK certificate from an untrusted CA)
# leaves the IAK and the IDevID key and nothing else (docs/factory.md)
attest_factory --ek-ca "$pki/owner-ca.pem"
enroll --server "$server" idevid --subject "$subject" >/dev/null 2>&1
est_server_stop
snapshot keys || { echo "attestation rows: cannot snapshot the TPM" >&2; exit 1; }

attest_factory --ek-ca "$pki/vendor-ca.pem"
row attest-factory-fresh "factory, attested (EK), factory-fresh TPM" fresh idevid --subject "$subject"
row attest-factory-keys "factory, attested (EK), IAK and IDevID present" keys idevid --subject "$subject"
est_server_stop

write_conf <<<$'timeout = 10\nfactory_mode = password'
factory_server
row password-factory-fresh "factory, password + header (comparison), factory-fresh TPM" fresh \
    idevid --subject "$subject"
est_server_stop

# the attested device: factory exchange, then the LDevID, attested
write_conf <<<$'timeout = 10\nfactory_mode = attested\nattestation = always'
restore fresh
attest_factory --ek-ca "$pki/vendor-ca.pem"
out=$(enroll --server "$server" idevid --subject "$subject" 2>&1) ||
    { echo "attestation rows: attested factory step failed: $out" >&2; exit 1; }
est_server_stop
owner_server --require-attestation "$pki/oem-ca.pem"
out=$(enroll --server "$server" ldevid 2>&1) ||
    { echo "attestation rows: attested LDevID failed: $out" >&2; exit 1; }
snapshot attested || exit 1
row attest-enroll "service enroll, attested CSR" none enroll abench-@I
row attest-reenroll "service re-enroll, attested CSR" none renew --force abench-1
row attest-rekey "service re-key, attested CSR" none renew --force --rekey abench-1
row attest-ldevid-reenroll "LDevID re-enroll, attested CSR" none renew --force LDevID
row attest-ldevid-rekey "LDevID re-key, attested CSR" none renew --force --rekey LDevID
est_server_stop

# the same device, unattested CSRs
write_conf <<<$'timeout = 10\nattestation = never'
restore attested
owner_server
row plain-enroll "service enroll, unattested (attestation = never)" none enroll pbench-@I
row plain-reenroll "service re-enroll, unattested" none renew --force pbench-1
row plain-rekey "service re-key, unattested" none renew --force --rekey pbench-1
row plain-ldevid-reenroll "LDevID re-enroll, unattested" none renew --force LDevID
row plain-ldevid-rekey "LDevID re-key, unattested" none renew --force --rekey LDevID
est_server_stop

# a device from the password-mode factory step: its IAK has no certificate, so with the
# default est.attestation = auto its requests go without evidence (what looking for it costs)
write_conf <<<$'timeout = 10\nattestation = auto'
restore fresh
factory_server
out=$(enroll --server "$server" idevid --subject "$subject" 2>&1) ||
    { echo "attestation rows: password factory step failed: $out" >&2; exit 1; }
est_server_stop
owner_server
out=$(enroll --server "$server" ldevid 2>&1) ||
    { echo "attestation rows: LDevID failed: $out" >&2; exit 1; }
row auto-nocert-enroll "service enroll, attestation = auto, IAK without certificate" none enroll nbench-@I
row auto-nocert-reenroll "service re-enroll, attestation = auto, IAK without certificate" none renew --force nbench-1
est_server_stop

printf '%s\n' "${rows[@]}" | jq -s --arg swtpm "$(swtpm --version 2>/dev/null | head -1)" \
    '{rows: ., swtpm: $swtpm}' >"$json"
echo "attestation rows: $json (debug logs: $logs)"
exit $failed
