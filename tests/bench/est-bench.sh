#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# est-bench.sh BUILD_DIR RUNS JSON: the EST rows of the benchmark (README.md, "EST operations").
# Run by run-bench.sh under its swtpm (tests/fixture/with-swtpm ecc), after devid-bench (it adds
# store keys and rewrites devid.conf). Against the test EST server (tests/est-server), per
# operation of devid-enroll: a service identity's enroll (TLS client certificate: the LDevID),
# its re-enroll (same key) and its re-key (new key), then the LDevID's re-enroll and re-key,
# each RUNS times in a fresh process:
# TLS connections and full / resumed handshakes (devid-enroll's own count, cross-checked with
# the server's log), TPM commands (core's counter; the mix from one more run at
# DEVID_LOG=debug, which names every command), TPM signatures, and wall time of the whole
# process (median, range); and that wall time taken apart: the time inside the TPM commands
# (the TPM, its transport and tpm2-tss) and inside the fsyncs of the durable writes, both from
# devid-enroll's own summary line, and the rest, the client's own time. Then the same POST by
# curl with a software key and client certificate, RUNS times against the same server, and
# the ratios devid / curl at the median: of the wall time, of the client's own time, and of
# curl's time plus the operation's TPM and fsync time (where an own time equal to curl's whole
# run would put it).
# Nothing is asserted but that every run succeeds (tests/enroll/connections.sh asserts the
# counts).
set -uo pipefail
build=$(cd "$1" && pwd)
runs=$2
json=$3
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=rows-lib.sh
. "$here/rows-lib.sh" "EST rows" curl jq openssl

# shellcheck source=../enroll/lib.sh
. "$here/../enroll/lib.sh" "$build"
write_conf <<<'timeout = 10'
log=$work/bench-est.log
owner_server --log "$log" || { echo "EST rows: the test EST server did not start" >&2; exit 1; }
trap est_server_stop EXIT
failed=0

# The minimal client: curl, a software P-256 key and certificate from the owner CA, the same
# simpleenroll POST (a CSR made once), a fresh process each time; one after each timed
# devid-enroll run, so that both see the same machine (its load changes during a run).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bench-curl \
    -keyout "$work/bench-curl.key" -out "$work/bench-curl.csr" 2>/dev/null
openssl x509 -req -in "$work/bench-curl.csr" -CA "$pki/owner-ca.pem" -CAkey "$pki/owner-ca.key" \
    -days 1 -out "$work/bench-curl.pem" 2>/dev/null
openssl req -in "$work/bench-curl.csr" -outform DER | base64 >"$work/bench-curl.b64"
curl_times=()
curl_once() {
    local t0 code
    t0=$(ms_now)
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$work/est-trust.pem" \
        --cert "$work/bench-curl.pem" --key "$work/bench-curl.key" \
        -H 'Content-Type: application/pkcs10' --data-binary @"$work/bench-curl.b64" \
        "$EST_URL/simpleenroll")
    curl_times+=($(($(ms_now) - t0)))
    if [[ $code != 200 ]]; then
        echo "EST rows: curl POST: HTTP $code" >&2
        failed=1
    fi
}

# row NAME LABEL ARGS... (ARGS may contain @I, replaced by the run's number): RUNS timed runs,
# then one at debug level for the command mix. Sets ROW_JSON.
row() {
    local name=$1 label=$2 i t0 out rc times=() conns=0 full=0 resumed=0 tpm=0 srv_full=0
    local tpm_ms=() sync_ms=() own_ms=() syncs=0 t_wall t_tpm s_n s_ms
    shift 2
    ROW_JSON='{}'
    for ((i = 1; i <= runs; i++)); do
        local args=("${@//@I/$i}")
        : >"$log"
        t0=$(ms_now)
        out=$(DEVID_LOG=info enroll --server "$server" "${args[@]}" 2>&1); rc=$?
        t_wall=$(($(ms_now) - t0))
        times+=("$t_wall")
        if [[ $rc -ne 0 ]]; then
            echo "EST rows: $name run $i failed (exit $rc): $out" >&2
            failed=1
            return
        fi
        read -r c f r < <(sed -nE 's/.*EST: ([0-9]+) TLS connection\(s\): ([0-9]+) full handshake\(s\), ([0-9]+) resumed.*/\1 \2 \3/p' <<<"$out")
        conns=$((conns + ${c:-0})); full=$((full + ${f:-0})); resumed=$((resumed + ${r:-0}))
        tpm=$((tpm + $(sed -nE 's/.* ([0-9]+) TPM command\(s\) in this run.*/\1/p' <<<"$out")))
        # "... in this run (T ms), N fsync(s) (S ms)": the TPM's and the disk's share
        read -r t_tpm s_n s_ms < <(sed -nE 's/.* in this run \(([0-9.]+) ms\), ([0-9]+) fsync\(s\) \(([0-9.]+) ms\).*/\1 \2 \3/p' <<<"$out")
        if [[ -z ${s_ms:-} ]]; then
            echo "EST rows: $name run $i: no TPM and fsync times in devid-enroll's summary line" >&2
            failed=1
            return
        fi
        tpm_ms+=("$t_tpm"); sync_ms+=("$s_ms"); syncs=$((syncs + s_n))
        own_ms+=("$(awk -v w="$t_wall" -v t="$t_tpm" -v s="$s_ms" 'BEGIN { printf "%.2f", w - t - s }')")
        # (devid-enroll's requests only: the line of the curl POST before may land late)
        srv_full=$((srv_full + $(jq -s '[.[] | select(.op != null and (.client_cert // "" | contains("bench-curl") | not))]
            | group_by(.conn) | map(select(.[0].session_reused | not)) | length' "$log")))
        curl_once
    done
    # the mix, from one more run with every command named (not timed)
    local args=("${@//@I/$((runs + 1))}") mix signs
    out=$(DEVID_LOG=debug enroll --server "$server" "${args[@]}" 2>&1) || {
        echo "EST rows: $name (counted run) failed: $out" >&2
        failed=1
        return
    }
    mix=$(grep -oE 'TPM command [0-9]+: Esys_[A-Za-z_]+' <<<"$out" | sed 's/.*Esys_//' | sort | uniq -c |
          sort -k1,1nr -k2 | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')
    signs=$(grep -cE 'TPM command [0-9]+: Esys_Sign$' <<<"$out")
    local p50 lo hi tpm_p50 sync_p50 own_p50 x
    read -r p50 lo hi < <(printf '%s\n' "${times[@]}" | stats)
    read -r tpm_p50 x x < <(printf '%s\n' "${tpm_ms[@]}" | stats)
    read -r sync_p50 x x < <(printf '%s\n' "${sync_ms[@]}" | stats)
    read -r own_p50 x x < <(printf '%s\n' "${own_ms[@]}" | stats)
    printf '| %s | %d | %s | %s | %s | %s | %s | %s–%s | %.1f | %s (%.1f) | %.1f | %s |\n' "$label" "$runs" \
        "$(awk -v a=$conns -v n=$runs 'BEGIN { printf "%.1f", a / n }')" \
        "$(awk -v a=$full -v b=$resumed -v s=$srv_full -v n=$runs 'BEGIN { printf "%.1f / %.1f (server: %.1f full)", a / n, b / n, s / n }')" \
        "$(awk -v a=$tpm -v n=$runs 'BEGIN { printf "%.1f", a / n }')" "$signs" "$p50" "$lo" "$hi" \
        "$tpm_p50" "$(awk -v a=$syncs -v n=$runs 'BEGIN { printf "%.1f", a / n }')" "$sync_p50" "$own_p50" "$mix"
    ROW_JSON=$(jq -n --arg name "$name" --argjson runs "$runs" --argjson p50 "$p50" --argjson min "$lo" \
        --argjson max "$hi" --argjson conns "$conns" --argjson full "$full" --argjson resumed "$resumed" \
        --argjson tpm "$tpm" --argjson signs "$signs" --arg mix "$mix" --argjson tpm_p50 "$tpm_p50" \
        --argjson syncs "$syncs" --argjson sync_p50 "$sync_p50" --argjson own_p50 "$own_p50" \
        '{name: $name, runs: $runs, wall_ms: {p50: $p50, min: $min, max: $max},
          tls_connections_per_op: ($conns / $runs), full_handshakes_per_op: ($full / $runs),
          resumed_per_op: ($resumed / $runs), tpm_commands_per_op: ($tpm / $runs),
          tpm_signatures: $signs, tpm_mix: $mix, tpm_ms_p50: $tpm_p50,
          fsyncs_per_op: ($syncs / $runs), fsync_ms_p50: $sync_p50, own_ms_p50: $own_p50}')
}

echo
echo "EST operations (devid-enroll against tests/est-server, TLS client certificate; $runs runs each, one process per run):"
echo
echo '| operation | runs | TLS connections | full / resumed handshakes | TPM cmds | TPM2_Sign | wall p50 ms | range | in TPM commands p50 ms | fsyncs (p50 ms) | own p50 ms | TPM command mix |'
echo '|---|---:|---:|---|---:|---:|---:|---|---:|---|---:|---|'
rows=()
declare -A wall own cannot_skip
# one row per operation: its name, its label, devid-enroll's arguments
each() {
    row "$@"
    rows+=("$ROW_JSON")
    wall[$1]=$(jq -r '.wall_ms.p50 // empty' <<<"$ROW_JSON")
    own[$1]=$(jq -r '.own_ms_p50 // empty' <<<"$ROW_JSON")
    cannot_skip[$1]=$(jq -r 'if .tpm_ms_p50 then .tpm_ms_p50 + .fsync_ms_p50 else empty end' <<<"$ROW_JSON")
}
each est-enroll "enroll (service identity, LDevID-authenticated)" enroll bench-@I
each est-reenroll "re-enroll (same key)" renew --force bench-1
each est-rekey "re-key (new key)" renew --force --rekey bench-1
# the LDevID's own renewals: its key at the persistent handle, rotated there on a re-key
each est-ldevid-reenroll "LDevID re-enroll" renew --force LDevID
each est-ldevid-rekey "LDevID re-key" renew --force --rekey LDevID

read -r curl_p50 lo hi < <(printf '%s\n' "${curl_times[@]}" | stats)
printf '| curl POST /simpleenroll, software key (after each run above) | %d | 1.0 | 1.0 / 0.0 | 0 | 0 | %s | %s–%s | 0 | 0 | %s | |\n' "${#curl_times[@]}" "$curl_p50" "$lo" "$hi" "$curl_p50"
rows+=("$(jq -n --argjson runs "${#curl_times[@]}" --argjson p50 "$curl_p50" --argjson min "$lo" --argjson max "$hi" \
    '{name: "est-curl", runs: $runs, wall_ms: {p50: $p50, min: $min, max: $max}}')")

ratio() { awk -v a="$1" -v b="$curl_p50" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else printf "-" }'; }
ratios() { # ratios wall|own|floor
    local -n of=$1
    echo "enroll $(ratio "${of[est-enroll]:-}"), re-enroll $(ratio "${of[est-reenroll]:-}"), re-key $(ratio "${of[est-rekey]:-}"); LDevID re-enroll $(ratio "${of[est-ldevid-reenroll]:-}"), re-key $(ratio "${of[est-ldevid-rekey]:-}")"
}
echo
echo "devid / curl at the median (target ≤ 1.2): $(ratios wall)"
echo "the same without the time in TPM commands and fsyncs (the client's own time / curl's): $(ratios own)"
# what the target leaves: were the client's own time curl's whole run, the TPM commands and the
# fsyncs alone would put each operation at (curl + TPM + fsync) / curl
declare -A floor
for op in "${!cannot_skip[@]}"; do
    floor[$op]=$(awk -v c="$curl_p50" -v x="${cannot_skip[$op]}" 'BEGIN { printf "%.2f", c + x }')
done
echo "devid / curl if its own time were curl's whole run (the TPM and the fsyncs alone): $(ratios floor)"
printf '%s\n' "${rows[@]}" | jq -s --arg swtpm "$(swtpm --version 2>/dev/null | head -1)" \
    '{rows: ., swtpm: $swtpm}' >"$json"
echo "EST rows: $json"
exit $failed
