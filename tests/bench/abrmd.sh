#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# abrmd.sh start|stop: a private tpm2-abrmd (resource manager) in front of the fixture's swtpm.
#
# Needs DEVID_TCTI (the swtpm), DBUS_SESSION_BUS_ADDRESS (a D-Bus session bus: run-bench.sh
# starts a private one, so no system bus and no root policy is involved) and DEVID_BENCH_WORK
# (a directory for the pid file and the log). `start` prints the TCTI string for clients
# (tabrmd:bus_name=...,bus_type=session) once abrmd owns its bus name; `stop` ends it.
# While it runs, abrmd holds swtpm's one connection: nothing may use DEVID_TCTI directly.
set -euo pipefail

work=${DEVID_BENCH_WORK:?DEVID_BENCH_WORK is not set}
name=org.devid.bench.Tabrmd
pid_file=$work/abrmd.pid

stop() {
    local pid
    pid=$(cat "$pid_file" 2>/dev/null) || return 0
    rm -f "$pid_file"
    kill "$pid" 2>/dev/null || return 0
    # abrmd takes ~2 s to wind down after SIGTERM; whatever it leaves loaded in the TPM,
    # devid-bench's sweep flushes
    for _ in $(seq 5); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null && sleep 0.05 || break; done
}

owned() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner "string:$name" 2>/dev/null | grep -q 'boolean true'
}

case ${1:-} in
start)
    : "${DEVID_TCTI:?DEVID_TCTI is not set}" "${DBUS_SESSION_BUS_ADDRESS:?no D-Bus session bus}"
    command -v tpm2-abrmd >/dev/null || { echo "abrmd.sh: tpm2-abrmd is not installed" >&2; exit 1; }
    stop
    tpm2-abrmd --session --allow-root --dbus-name="$name" --tcti="$DEVID_TCTI" \
        >>"$work/abrmd.log" 2>&1 </dev/null &
    echo $! >"$pid_file"
    for _ in $(seq 100); do
        if owned; then
            echo "tabrmd:bus_name=$name,bus_type=session"
            exit 0
        fi
        kill -0 "$(cat "$pid_file")" 2>/dev/null || break
        sleep 0.1
    done
    echo "abrmd.sh: tpm2-abrmd did not come up:" >&2
    cat "$work/abrmd.log" >&2 || true
    stop
    exit 1
    ;;
stop) stop ;;
*)
    echo "usage: abrmd.sh start|stop" >&2
    exit 2
    ;;
esac
