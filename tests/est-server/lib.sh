# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034  # (EST_URL and friends are for the caller)
# lib.sh — start and stop est-server from a bash test. Source it:
#
#   . "$srcdir/tests/est-server/lib.sh"
#   est_server_start "$work" --ca-cert "$pki/owner-ca.pem" --ca-key "$pki/owner-ca.key" \
#       --client-ca "$pki/oem-ca.pem" --fault retry-after:1 --fault-count 1
#   trap est_server_stop EXIT         # or call it from your own cleanup
#   devid-enroll ... --server "$EST_URL" ...
#   est_server_stop
#
# est_server_start DIR [ARGS...] starts est-server in the background with
# --listen 127.0.0.1:0 --ready-file DIR/est-server.ready and ARGS (its stderr
# goes to DIR/est-server.err), waits until it listens (at most
# $EST_SERVER_START_TIMEOUT seconds, default 30) and sets:
#   EST_PID   its process id         EST_PORT  the port it listens on
#   EST_URL   https://localhost:PORT/.well-known/est
# It returns 1, showing the server's stderr, if the server exits or does not
# start in time. est_server_stop sends SIGTERM and waits for it (a second
# call does nothing).

EST_SERVER=${EST_SERVER:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/est-server}

est_server_start() {
    local dir=$1 ready i limit nap
    shift
    ready=$dir/est-server.ready
    rm -f "$ready"
    "$EST_SERVER" --listen 127.0.0.1:0 --ready-file "$ready" "$@" 2>"$dir/est-server.err" &
    EST_PID=$!
    limit=$((${EST_SERVER_START_TIMEOUT:-30} * 50))
    exec {nap}<> <(:) # a pipe nobody writes to: "read -t" on it sleeps without a process
    for ((i = 0; i < limit; i++)); do
        [[ -s $ready ]] && break
        kill -0 "$EST_PID" 2>/dev/null || break
        read -rt 0.02 -u "$nap" || true
    done
    exec {nap}<&-
    if [[ ! -s $ready ]]; then
        echo "est-server did not start (args: $*)" >&2
        cat "$dir/est-server.err" >&2
        kill "$EST_PID" 2>/dev/null || true
        EST_PID=
        return 1
    fi
    read -r _ EST_PORT <"$ready"
    EST_URL=https://localhost:$EST_PORT/.well-known/est
}

est_server_stop() {
    if [[ -n ${EST_PID:-} ]]; then
        kill "$EST_PID" 2>/dev/null || true
        wait "$EST_PID" 2>/dev/null || true
        EST_PID=
    fi
}
