#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Store faults through the real front-end (pkcs11-tool and the devid PKCS#11 module), on a real
# small tmpfs mounted over the store in a private mount namespace (unshare -m; needs root):
#   - full disk: key generation, certificate import and attribute changes fail with a clear
#     error, leave no file behind (no temp files, no half-written object), and the keys
#     already there keep signing; once space is back, generation works again;
#   - read-only file system (remount,ro): the same, "Read-only file system" in the error;
#   - a truncated or corrupted key file: that key fails with a clear error, the others sign.
# Concurrent writers from several processes are covered in core (tests/core/test_store.c,
# test_concurrent_writers: 4 processes × 10 objects, all complete).
here=$(cd "$(dirname "$0")" && pwd)

if [[ ${DEVID_STORE_FAULTS_NS:-} != 1 ]]; then
    # A real tmpfs and real remounts need root and a private mount namespace. Without them this
    # test cannot show anything: say so and fail, never pass silently.
    if [[ $(id -u) != 0 ]] || ! unshare -m true 2>/dev/null; then
        echo "ERROR: store-faults needs root and mount namespaces (unshare -m) for a real" \
            "tmpfs; not run" >&2
        exit 1
    fi
    DEVID_STORE_FAULTS_NS=1 exec unshare -m --propagation private "$0" "$@"
fi

source "$here/../pkcs11/lib.sh"
store=$DEVID_STORE
export DEVID_LOG=warn # the module's own messages: the "clear error" we look for
echo data to sign >"$work/data"

# The store on a 160 KiB tmpfs (40 pages: each file takes at least one).
cp -a "$store/." "$work/store-seed/" 2>/dev/null || mkdir -p "$work/store-seed"
mount -t tmpfs -o size=160k,mode=0700 devid-store-test "$store"
cp -a "$work/store-seed/." "$store/"

gen() { # gen LABEL ID
    p11 --keypairgen --key-type EC:prime256v1 --label "$1" --id "$2"
}
sign_ok() { # sign_ok ID: signs with key ID and checks the signature with openssl
    p11_pubkey "$1" >"$work/$1.pub" &&
        p11 --sign -m ECDSA-SHA256 -f openssl --id "$1" -i "$work/data" -o "$work/$1.sig" &&
        openssl dgst -sha256 -verify "$work/$1.pub" -signature "$work/$1.sig" "$work/data"
}
# The store's files (no hidden ones: .lock, the filler), with sizes and checksums.
snapshot() {
    (cd "$store" && find . -maxdepth 1 -type f ! -name '.*' -exec sha256sum {} + | sort)
}
no_leftovers() { # nothing but what was there: no temp file, no new object
    snapshot >"$work/after" && cmp -s "$work/before" "$work/after" &&
        ! find "$store" -name '*.tmp.*' | grep -q .
}
groups() { find "$store" -name '*.attr' | wc -l; }

check "generate key b1" gen store-b1 b1
check "generate key b2" gen store-b2 b2
check "generate key b3" gen store-b3 b3
check "b1 signs" sign_ok b1
check "b2 signs" sign_ok b2
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj /CN=store-faults -days 1 -outform DER -out "$work/cert.der" 2>/dev/null

# ---- full disk ----
head -c 1M /dev/zero >"$store/.filler" 2>/dev/null || true
check "the store's tmpfs is full" test "$(df --output=avail -B1 "$store" | tail -1)" -lt 4096
snapshot >"$work/before"
check_fails "full disk: key generation fails" "No space left on device" gen store-full c1
check "full disk: generation left nothing behind" no_leftovers
check_fails "full disk: certificate import fails" "No space left on device" \
    p11 --write-object "$work/cert.der" --type cert --id c2 --label store-full-cert
check "full disk: the import left nothing behind" no_leftovers
check_fails "full disk: changing an object's CKA_ID fails" "No space left on device" \
    p11 --set-id c3 --id b3 --type privkey
check "full disk: b3's attributes unchanged" no_leftovers
check "full disk: b1 still signs" sign_ok b1
check "full disk: b2 still signs" sign_ok b2
check "full disk: b3 still found by its old CKA_ID" sign_ok b3
rm -f "$store/.filler"
check "space back: generation works" gen store-b4 b4
check "space back: b4 signs" sign_ok b4
check "four store groups" test "$(groups)" -eq 4

# ---- read-only file system ----
mount -o remount,ro "$store"
snapshot >"$work/before"
check_fails "read-only: key generation fails" "Read-only file system" gen store-ro c4
check_fails "read-only: certificate import fails" "Read-only file system" \
    p11 --write-object "$work/cert.der" --type cert --id c5 --label store-ro-cert
check_fails "read-only: deleting a key fails" "Read-only file system" \
    p11 --delete-object --type privkey --id b4
check "read-only: nothing changed" no_leftovers
check "read-only: b1 still signs" sign_ok b1
check "read-only: b4 (not deleted) still signs" sign_ok b4
mount -o remount,rw "$store"
check "read-write again: generation works" gen store-b5 b5
check "read-write again: b5 signs" sign_ok b5

# ---- truncated and corrupted key files ----
key_file() { # the key file of the object with CKA_ID $1
    grep -l "^id=$1\$" "$store"/*.attr | sed 's/\.attr$/.key/'
}
b2key=$(key_file b2)
b3key=$(key_file b3)
check "found b2's and b3's key files" test -f "$b2key" -a -f "$b3key"
truncate -s "$(($(stat -c %s "$b2key") / 2))" "$b2key"
check_fails "truncated key file: b2 refuses to sign, saying which file and why" \
    "${b2key##*/}: not a TSS2 PRIVATE KEY" \
    p11 --sign -m ECDSA-SHA256 -f openssl --id b2 -i "$work/data" -o "$work/x.sig"
# a bit flipped in the middle of the wrapped key: the TPM refuses to load it (integrity check)
b3pem=$(<"$b3key")
mid=$((${#b3pem} / 2))
c=${b3pem:mid:1}
[[ $c == A ]] && r=B || r=A
printf '%s\n' "${b3pem:0:mid}$r${b3pem:mid+1}" >"$b3key"
check_fails "corrupted key file: b3 refuses to sign, the TPM's integrity check says why" \
    "${b3key##*/}: loading an object \(TPM2_Load\): .*integrity check failed" \
    p11 --sign -m ECDSA-SHA256 -f openssl --id b3 -i "$work/data" -o "$work/x.sig"
check "b1 still signs beside broken objects" sign_ok b1
check "b5 still signs beside broken objects" sign_ok b5
check "the broken objects are still listed (they can be deleted)" test "$(groups)" -eq 5
check "the truncated object can be deleted" p11 --delete-object --type privkey --id b2
check "four groups left" test "$(groups)" -eq 4

summary store-faults
