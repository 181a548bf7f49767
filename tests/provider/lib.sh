# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the provider tests (sourced). Runs under tests/fixture/with-swtpm, which
# exports DEVID_FIXTURE etc.; DEVID_PROVIDER_DIR is the build directory holding devid.so.
set -euo pipefail

: "${DEVID_PROVIDER_DIR:?set by meson}"
: "${DEVID_FIXTURE:?run under tests/fixture/with-swtpm}"

# An ASan/UBSan build of the provider loaded into the (uninstrumented) openssl, curl and
# mosquitto binaries needs the sanitizer runtime preloaded. Their own allocations are not
# ours to judge, so leak checking is off there (our C tests keep it on).
if [[ $(ldd "$DEVID_PROVIDER_DIR/devid.so") == *libasan* ]]; then
    LD_PRELOAD=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)
    export LD_PRELOAD
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=134
    export UBSAN_OPTIONS=${DEVID_TEST_UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=134}
    asan_preloaded=1
fi

work=$(mktemp -d)
server_pids=()
cleanup_lib() {
    local pid
    for pid in "${server_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup_lib EXIT

# check, check_fails NAME PATTERN CMD..., check_out, skip, summary
# shellcheck source=../lib/check.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"

# The provider on the command line, loaded before or after default.
PFIRST=(-provider-path "$DEVID_PROVIDER_DIR" -provider devid -provider default)
PSECOND=(-provider-path "$DEVID_PROVIDER_DIR" -provider default -provider devid)
trust=$DEVID_FIXTURE/pki/trust.pem

# make_openssl_cnf [FILE [DEVID-SECTION-LINE...]]: an openssl.cnf that activates devid and
# default (for path-only applications); prints its path.
make_openssl_cnf() {
    local file=${1:-$work/openssl.cnf}
    shift || true
    cat >"$file" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
devid = devid_sect
default = default_sect
[devid_sect]
module = $DEVID_PROVIDER_DIR/devid.so
activate = 1
[default_sect]
activate = 1
CNF
    local line
    for line in "$@"; do
        sed -i "/^\[devid_sect\]/a $line" "$file"
    done
    echo "$file"
}

# A software server key and certificate (P-256, or RSA with "rsa").
make_server_cert() {
    local kind=${1:-ec}
    if [[ $kind == rsa ]]; then
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/srv.key" -out "$work/srv.pem" \
            -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 2 2>/dev/null
    else
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$work/srv.key" -out "$work/srv.pem" -subj /CN=localhost \
            -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 2 2>/dev/null
    fi
}

# wait_socket PATH: until a server listens on the unix socket PATH (10 s at most). Servers that
# cannot bind port 0 and report it (nginx, mosquitto) listen on unix sockets in the test dir:
# no port is ever picked here and handed to a server later.
wait_socket() {
    local i
    for i in $(seq 200); do
        [[ -S $1 ]] && [[ -n $(ss -Hlx "src $1") ]] && return 0
        sleep 0.05
    done
    return 1
}

# start_s_server LOG ARGS...: openssl s_server on loopback port 0; sets $port to the port the
# kernel gave it (s_server prints "ACCEPT 127.0.0.1:PORT" once it listens).
start_s_server() {
    local log=$1 i
    shift
    port=
    # s_server quits when its stdin closes: give it a FIFO we hold open.
    local fifo=$work/stdin.${#server_pids[@]}
    mkfifo "$fifo"
    openssl s_server -accept 127.0.0.1:0 "$@" <"$fifo" >"$log" 2>&1 &
    server_pids+=($!)
    exec {server_fd}>"$fifo"
    for i in $(seq 600); do # (ends early if s_server died)
        port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$log")
        [[ -n $port ]] && return 0
        kill -0 "${server_pids[-1]}" 2>/dev/null || break
        sleep 0.05
    done
    echo "s_server did not start:" >&2
    cat "$log" >&2
    return 1
}

# make_test_ca CN: a software test CA in $work/ca.key, $work/ca.pem.
make_test_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" \
        -out "$work/ca.pem" -subj "/CN=$1" -days 2 2>/dev/null
}
# issue_cert CSR OUT [EXTFILE]: OUT signed by the test CA.
issue_cert() {
    openssl x509 -req -in "$1" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
        ${3:+-extfile "$3"} -out "$2" 2>/dev/null
}
# make_soft_cert NAME CN: a software P-256 key NAME.key with NAME.crt from the test CA.
make_soft_cert() {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/$1.key" \
        -subj "/CN=$2" -out "$work/$1.csr" 2>/dev/null && issue_cert "$work/$1.csr" "$work/$1.crt"
}
# genpkey_tpm LABEL OUT: a key of the fixture variant's type (RSA 2048 or EC P-256) generated in
# the TPM store through the provider, written as a TSS2 PRIVATE KEY file.
genpkey_tpm() {
    local gen=(-algorithm EC -pkeyopt group:P-256)
    [[ $(<"$DEVID_FIXTURE/variant") == rsa ]] && gen=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048)
    openssl genpkey "${PFIRST[@]}" "${gen[@]}" -pkeyopt "devid-label:$1" -out "$2"
}
# idevid_files: the IDevID's certificate ($work/idevid.pem) and a reference file for its key
# ($work/idevid.ref), for applications that take only file paths.
idevid_files() {
    openssl storeutl "${PFIRST[@]}" -certs 'devid:object=IDevID;type=cert' |
        sed -n '/^-----BEGIN /,/^-----END /p' >"$work/idevid.pem"
    printf '# the factory IDevID (the key stays in the TPM)\ndevid:object=IDevID\n' >"$work/idevid.ref"
}
