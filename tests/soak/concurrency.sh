#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Concurrency: 4 processes x 8 threads sign at once on one TPM through tpm2-abrmd (the
# resource manager, as /dev/tpmrm0 on a device): two through the PKCS#11 module (C_Sign), two
# through the OpenSSL provider (EVP_DigestSign), 4 x 8 x PER_THREAD signatures (default 313:
# 10,016), each verified in software against the key's certificate (DevIDs) or public key
# (a store key). Fails on any error, any signature that does not verify, or a dead abrmd.
# usage (under tests/fixture/with-swtpm ecc):
#   concurrency.sh CONCURRENT_SIGN PKCS11_MODULE PROVIDER_DIR P11_PUBKEY [PER_THREAD]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sign=$1 module=$2 provdir=$3 p11_pubkey=$4 per=${5:-313}
threads=8
pki=$DEVID_FIXTURE/pki
work=$(mktemp -d "${TMPDIR:-/tmp}/devid-concurrency.XXXXXX")
export DEVID_BENCH_WORK=$work # abrmd.sh keeps its pid file and log there
dbus_pid=
cleanup() {
    "$here/../bench/abrmd.sh" stop 2>/dev/null || true
    [[ -n $dbus_pid ]] && kill "$dbus_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# pkcs11-tool is not instrumented: in ASan builds it needs the runtime preloaded to load the
# instrumented module (its own leaks are not ours to judge).
tool=()
if [[ $(ldd "$module") == *libasan* ]]; then
    tool=(env "LD_PRELOAD=$(gcc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0)
fi

# A store key (a TPM object loaded from the store, not persistent), made straight on swtpm
# before abrmd takes its one connection.
"${tool[@]}" pkcs11-tool --module "$module" --keypairgen --key-type EC:prime256v1 \
    --label soak-store --id 5a >"$work/keygen.log" 2>&1 || {
    cat "$work/keygen.log" >&2
    exit 1
}
"${tool[@]}" "$p11_pubkey" "$module" 5a >"$work/store.pub"

# A private D-Bus session bus and tpm2-abrmd on it: from here on everything goes through abrmd.
out=$(dbus-daemon --session --fork --print-address=1 --print-pid=1)
export DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p <<<"$out")
dbus_pid=$(sed -n 2p <<<"$out")
DEVID_TCTI=$("$here/../bench/abrmd.sh" start)
export DEVID_TCTI TPM2TOOLS_TCTI=$DEVID_TCTI

ld=$pki/ldevid.pem id=$pki/idevid.pem st=$work/store.pub
start=$SECONDS
pids=()
"$sign" p11 "$module" $threads "$per" LDevID "$ld" IDevID "$id" >"$work/p1" 2>&1 & pids+=($!)
"$sign" p11 "$module" $threads "$per" soak-store "$st" LDevID "$ld" >"$work/p2" 2>&1 & pids+=($!)
"$sign" prov "$provdir" $threads "$per" devid:object=LDevID "$ld" devid:object=IDevID "$id" \
    >"$work/p3" 2>&1 & pids+=($!)
"$sign" prov "$provdir" $threads "$per" devid:object=soak-store "$st" devid:object=LDevID "$ld" \
    >"$work/p4" 2>&1 & pids+=($!)
failed=0
for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    if ((rc)); then
        failed=1
        echo "FAIL: process $((i + 1)) exited with status $rc" >&2
    fi
    sed "s/^/process $((i + 1)): /" "$work/p$((i + 1))"
done
if ! kill -0 "$(cat "$work/abrmd.pid")" 2>/dev/null; then
    echo "FAIL: tpm2-abrmd died" >&2
    failed=1
fi
total=$((4 * threads * per))
if ((failed)); then
    echo "concurrency: FAILED (4 processes x $threads threads x $per, $((SECONDS - start)) s)"
    cat "$work/abrmd.log" >&2 || true
    exit 1
fi
echo "concurrency: $total signatures from 4 processes x $threads threads through tpm2-abrmd," \
    "all verified, 0 errors, $((SECONDS - start)) s"
