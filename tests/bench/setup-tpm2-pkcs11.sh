#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# setup-tpm2-pkcs11.sh STORE_DIR: a tpm2-pkcs11 store holding a key equivalent to the LDevID,
# for the tpm2-pkcs11 rows of devid-bench. Run under the fixture (DEVID_TCTI) with a D-Bus
# session bus and DEVID_BENCH_WORK set (run-bench.sh does all that).
#
# The key: ECC P-256, created by tpm2_ptool addkey under the fixture's persistent SRK
# (0x81000001), the LDevID's parent; tpm2-pkcs11 gives it an auth value tied to the user PIN.
# (tpm2_ptool cannot link a persistent key it did not create: it needs the key's private
# blob, and the LDevID's was never kept.) tpm2_ptool runs several tpm2-tools per step, each
# leaving objects loaded, which exhausts swtpm's 3 object slots without a resource manager,
# so it runs through a private tpm2-abrmd (abrmd.sh).
#
# Prints the environment for devid-bench (TPM2_PKCS11_STORE, DEVID_BENCH_TPM2_*) on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
store=${1:?usage: setup-tpm2-pkcs11.sh STORE_DIR}
token=bench
key=bench-key
pin=1234
sopin=5678

command -v tpm2_ptool >/dev/null || { echo "setup-tpm2-pkcs11.sh: tpm2_ptool is not installed (libtpm2-pkcs11-tools)" >&2; exit 1; }
mkdir -p "$store"
store=$(cd "$store" && pwd)
tcti=$("$here/abrmd.sh" start)
trap '"$here/abrmd.sh" stop' EXIT
export TPM2_PKCS11_TCTI=$tcti TPM2TOOLS_TCTI=$tcti TPM2_PKCS11_STORE=$store

log=$store/setup.log
run() {
    if ! "$@" >>"$log" 2>&1; then
        cat "$log" >&2
        echo "setup-tpm2-pkcs11.sh: failed: $*" >&2
        exit 1
    fi
}
run tpm2_ptool init --path "$store" --primary-handle 0x81000001
run tpm2_ptool addtoken --path "$store" --pid 1 --label "$token" --userpin "$pin" --sopin "$sopin"
run tpm2_ptool addkey --path "$store" --label "$token" --key-label "$key" --userpin "$pin" \
    --algorithm ecc256

echo "TPM2_PKCS11_STORE=$store"
echo "DEVID_BENCH_TPM2_TOKEN=$token"
echo "DEVID_BENCH_TPM2_KEY=$key"
echo "DEVID_BENCH_TPM2_PIN=$pin"
