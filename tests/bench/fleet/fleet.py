#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fleet simulation (issue 5): N devices, each with its own swtpm and store, through devid's
zero-touch flow against one factory and one owner EST server, then a renewal storm with and
without jitter. See tests/bench/fleet/README.md.

    tests/bench/fleet/fleet.py [--build-dir build] [-n 50] [-j 8] [--json FILE] ...
    tests/bench/fleet/fleet.py --smoke       # 3 devices, correctness only (the fleet-smoke test)

Only the Python standard library. Run it with /usr/bin/python3 (the shebang): a pyenv shim
may shadow python3. OPENSSL_MODULES (the devid provider) is given to devid-enroll and openssl
only, never to the EST servers (their Python OpenSSL breaks with it) nor to this process.
"""

import argparse
import concurrent.futures as cf
import datetime
import fcntl
import json
import math
import os
import platform
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
SUBJECT = "O=Devid Test OEM,OU=Devid Test Device Model 1,CN=Devid Test Device,serialNumber={}"
SERIAL_RE = re.compile(r"(?:2\.5\.4\.5|serialNumber)=(FLEET-\d+)")

os.environ.pop("OPENSSL_MODULES", None)  # never for this process or the servers


def log(msg):
    print(msg, flush=True)


def pct(values, p):
    """Nearest-rank percentile (p in 0..100) of a list; None if empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def r3(x):
    return None if x is None else round(x, 3)


def summary_of(values):
    return {"n": len(values), "p50": r3(pct(values, 50)), "p99": r3(pct(values, 99)),
            "min": r3(min(values)) if values else None,
            "max": r3(max(values)) if values else None}


def proc_cpu(pid):
    """utime+stime of a live process in seconds (None if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def parse_time(s):
    return datetime.datetime.fromisoformat(s).timestamp()


class Run:
    """A child process with its rusage: (rc, wall s, cpu s, stdout, stderr)."""

    @staticmethod
    def cmd(argv, env, timeout, cwd=None):
        t0 = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.Popen(argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 cwd=cwd)
            timer = threading.Timer(timeout, p.kill)
            timer.start()
            try:
                _, status, ru = os.wait4(p.pid, 0)
            finally:
                timer.cancel()
            p.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - t0
            out.seek(0)
            err.seek(0)
            return (p.returncode, wall, ru.ru_utime + ru.ru_stime,
                    out.read().decode(errors="replace"), err.read().decode(errors="replace"))


class Server:
    """One est-server instance (tests/est-server), with --log and --stats."""

    def __init__(self, fleet, name, args):
        self.name = name
        self.dir = os.path.join(fleet.work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.log_path = os.path.join(self.dir, "requests.jsonl")
        ready = os.path.join(self.dir, "ready")
        self.err = open(os.path.join(self.dir, "stderr"), "w")
        self.proc = subprocess.Popen(
            [fleet.est_server, "--listen", "127.0.0.1:0", "--ready-file", ready,
             "--log", self.log_path, "--stats"] + args,
            stdout=subprocess.DEVNULL, stderr=self.err, stdin=subprocess.DEVNULL,
            env=dict(os.environ))
        fleet.servers.append(self)
        deadline = time.monotonic() + 30
        while not (os.path.exists(ready) and os.path.getsize(ready)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.err.flush()
                raise RuntimeError(f"est-server {name} did not start: "
                                   + open(os.path.join(self.dir, "stderr")).read())
            time.sleep(0.02)
        self.port = int(open(ready).read().split()[1])
        self.url = f"https://localhost:{self.port}"
        self.ssl = ssl.create_default_context(cafile=fleet.est_trust)

    def stats(self, reset=False):
        url = f"{self.url}/.well-known/est/_stats" + ("?reset=1" if reset else "")
        with urllib.request.urlopen(url, context=self.ssl, timeout=10) as r:
            return json.load(r)

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()

    def entries(self, since=None, until=None):
        out = []
        if not os.path.exists(self.log_path):
            return out
        with open(self.log_path) as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                e["t"] = parse_time(e["time"])
                if (since is None or e["t"] >= since) and (until is None or e["t"] <= until):
                    out.append(e)
        return out


class Device:
    def __init__(self, fleet, i):
        self.i = i
        self.serial = f"FLEET-{i:04d}"
        self.dir = os.path.join(fleet.work, "devices", f"{i:04d}")
        self.fleet = fleet
        self.port = None
        self.pid = None
        self.daemon = None
        self.steps = {}
        self.error = None

    @property
    def conf(self):
        return os.path.join(self.dir, "devid.conf")

    def env(self, extra=None):
        e = dict(os.environ)
        e.update({"DEVID_TCTI": f"swtpm:host=127.0.0.1,port={self.port}",
                  "DEVID_STORE": os.path.join(self.dir, "store"),
                  "DEVID_CONF": self.conf,
                  "OPENSSL_MODULES": self.fleet.modules})
        e.pop("DEVID_LOG_STDERR", None)
        if extra:
            e.update(extra)
        return e

    def write_conf(self, threshold, jitter):
        f = self.fleet
        with open(self.conf, "w") as c:
            c.write(f"trust_anchors = {self.dir}/pki/trust.pem\n"
                    f"[est]\ntrust_anchor = {f.est_trust}\nusername = station\n"
                    f"password_file = {f.work}/password\nheader_file = {f.work}/header\n"
                    f"timeout = 30\nmax_attempts = 4\nretry_base_ms = 500\n"
                    f"retry_cap_ms = 4000\n"
                    f"[renew]\nthreshold = {threshold}\njitter = {jitter}\n")

    def start_tpm(self):
        rc, wall, _, out, err = Run.cmd([os.path.join(self.dir, "swtpm-ctl"), "start"],
                                        dict(os.environ), 60)
        if rc != 0:
            raise RuntimeError(f"{self.serial}: swtpm did not start: {err.strip()}")
        self.port = int(open(os.path.join(self.dir, "swtpm.port")).read())
        self.pid = int(open(os.path.join(self.dir, "swtpm.pid")).read())
        return wall

    def stop_tpm(self):
        if self.pid is not None:
            subprocess.run([os.path.join(self.dir, "swtpm-ctl"), "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.pid = None

    def enroll(self, args, timeout=120):
        return Run.cmd([self.fleet.enroll_bin] + args, self.env(), timeout)


class Fleet:
    def __init__(self, a):
        self.a = a
        self.build = os.path.abspath(a.build_dir)
        self.enroll_bin = os.path.join(self.build, "enroll", "devid-enroll")
        self.modules = os.path.join(self.build, "ossl-provider")
        self.est_server = os.path.join(SRC, "tests", "est-server", "est-server")
        self.with_swtpm = os.path.join(SRC, "tests", "fixture", "with-swtpm")
        self.cache_root = os.environ.get("DEVID_FIXTURE_CACHE") or os.path.join(
            self.build, "tests", "fixture-cache")
        for p in (self.enroll_bin, os.path.join(self.modules, "devid.so")):
            if not os.path.exists(p):
                raise SystemExit(f"fleet: {p} missing: build first (meson setup build && "
                                 f"ninja -C build)")
        self.work = a.work_dir or tempfile.mkdtemp(prefix="devid-fleet.")
        os.makedirs(self.work, exist_ok=True)
        self.servers = []
        self.devices = []
        # An ASan build of the provider inside the uninstrumented openssl needs the sanitizer
        # runtime preloaded (as tests/enroll/lib.sh does).
        self.ossl_env = {}
        ldd = subprocess.run(["ldd", os.path.join(self.modules, "devid.so")],
                             capture_output=True, text=True).stdout
        if "libasan" in ldd:
            rt = [subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True,
                                 text=True).stdout.strip() for lib in ("libasan.so", "libubsan.so")]
            self.ossl_env = {"LD_PRELOAD": ":".join(rt), "ASAN_OPTIONS": "detect_leaks=0"}
        self.daemons_lock = threading.Lock()

    # ---- setup -------------------------------------------------------------------------------

    def fixture(self):
        """The ek-only (factory-fresh TPM) fixture cache, made or refreshed by with-swtpm."""
        env = dict(os.environ, DEVID_FIXTURE_CACHE=self.cache_root)
        r = subprocess.run([self.with_swtpm, "ek-only", "--", "true"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError("with-swtpm ek-only failed: " + r.stdout.decode(errors="replace"))
        return os.path.join(self.cache_root, "ek-only")

    def setup(self):
        cache = self.fixture()
        pki = os.path.join(cache, "pki")
        self.pki = os.path.join(self.work, "pki")
        os.makedirs(os.path.join(self.work, "devices"), exist_ok=True)
        with open(os.path.join(self.cache_root, ".ek-only.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # as with-swtpm: never copy a cache being remade
            shutil.copytree(pki, self.pki)
            for i in range(self.a.n):
                d = Device(self, i)
                shutil.copytree(cache, d.dir, symlinks=True)
                shutil.copy2(os.path.join(SRC, "tests", "fixture", "swtpm-ctl"), d.dir)
                self.devices.append(d)
        self.est_trust = os.path.join(self.work, "est-trust.pem")
        with open(self.est_trust, "w") as f:
            for ca in ("oem-ca.pem", "owner-ca.pem"):
                f.write(open(os.path.join(self.pki, ca)).read())
        for name, text in (("password", "station-secret\n"), ("header", "X-Station-Token: t0k3n\n")):
            path = os.path.join(self.work, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o600)
        for d in self.devices:
            d.write_conf(self.a.threshold, 0)

    def start_tpms(self):
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(self.a.j) as ex:
            walls = list(ex.map(lambda d: d.start_tpm(), self.devices))
        rss = 0
        for d in self.devices:
            try:
                with open(f"/proc/{d.pid}/status") as f:
                    rss += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            except (OSError, StopIteration):
                pass
        return {"wall_s": r3(time.monotonic() - t0), "per_swtpm_s": summary_of(walls),
                "swtpm_rss_mb_total": round(rss / 1024, 1)}

    def tpm_cpu(self):
        return sum(proc_cpu(d.pid) or 0 for d in self.devices if d.pid)

    # ---- phase 1: zero-touch enrollment -------------------------------------------------------

    def enroll_device(self, d, factory, owner):
        steps = [("idevid", ["--server", factory.url, "idevid", "--subject",
                             SUBJECT.format(d.serial)]),
                 ("ldevid", ["--server", owner.url, "ldevid"]),
                 ("device-id", ["--server", owner.url, "enroll", "device-id"])]
        t0 = time.monotonic()
        for name, args in steps:
            rc, wall, cpu, out, err = d.enroll(args)
            d.steps[name] = {"wall_s": wall, "cpu_s": cpu, "rc": rc}
            if rc != 0:
                d.error = f"{name}: exit {rc}: {(err or out).strip()[-300:]}"
                return False
        d.steps["total"] = {"wall_s": time.monotonic() - t0}
        return True

    def phase_enroll(self):
        factory = Server(self, "factory",
                         ["--ca-cert", f"{self.pki}/oem-ca.pem", "--ca-key", f"{self.pki}/oem-ca.key",
                          "--basic", "station:station-secret", "--header", "X-Station-Token: t0k3n"])
        owner = Server(self, "owner",
                       ["--ca-cert", f"{self.pki}/owner-ca.pem", "--ca-key", f"{self.pki}/owner-ca.key",
                        "--client-ca", f"{self.pki}/oem-ca.pem", "--client-ca",
                        f"{self.pki}/owner-ca.pem", "--require", "tls"])
        tpm0, srv0 = self.tpm_cpu(), (factory.cpu() or 0) + (owner.cpu() or 0)
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(self.a.j) as ex:
            ok = list(ex.map(lambda d: self.enroll_device(d, factory, owner), self.devices))
        wall = time.monotonic() - t0
        res = {"devices": len(self.devices), "ok": sum(ok), "wall_s": r3(wall),
               "devices_per_s": r3(sum(ok) / wall) if wall else None,
               "per_device_s": summary_of([d.steps["total"]["wall_s"] for d in self.devices
                                           if "total" in d.steps]),
               "per_step_s": {}, "client_cpu_per_step_s": {},
               "cpu_s": {"swtpm": r3(self.tpm_cpu() - tpm0),
                         "est_servers": r3((factory.cpu() or 0) + (owner.cpu() or 0) - srv0)},
               "failures": [f"{d.serial}: {d.error}" for d in self.devices if d.error]}
        client = 0.0
        for step in ("idevid", "ldevid", "device-id"):
            vals = [d.steps[step] for d in self.devices if step in d.steps]
            res["per_step_s"][step] = summary_of([v["wall_s"] for v in vals if v["rc"] == 0])
            res["client_cpu_per_step_s"][step] = summary_of([v["cpu_s"] for v in vals])
            client += sum(v["cpu_s"] for v in vals)
        res["cpu_s"]["devid_enroll"] = r3(client)
        res["server_stats"] = {"factory": factory.stats(), "owner": owner.stats()}
        res["server_errors"] = {}
        for srv in (factory, owner):
            for e in srv.entries():
                if e.get("event") == "tls-error" or (e.get("op") != "_stats" and
                                                     e.get("status") not in (200, 204)):
                    key = f"{srv.name}: {e.get('op')} {e.get('status')} {e.get('error') or e.get('event')}"
                    res["server_errors"][key] = res["server_errors"].get(key, 0) + 1
        factory.stop()
        owner.stop()
        return res

    # ---- phase 2: renewal storms ---------------------------------------------------------------

    def identity_of(self, e):
        m = SERIAL_RE.search(e.get("client_cert") or "")
        if not m:
            return None
        ident = "device-id" if "CN=device-id" in e["client_cert"] else "LDevID"
        return (m.group(1), ident)

    def storm(self, jitter):
        a = self.a
        V, theta = a.validity, a.threshold
        srv = Server(self, f"storm-jitter{jitter}",
                     ["--ca-cert", f"{self.pki}/owner-ca.pem", "--ca-key", f"{self.pki}/owner-ca.key",
                      "--client-ca", f"{self.pki}/oem-ca.pem", "--client-ca",
                      f"{self.pki}/owner-ca.pem", "--require", "tls",
                      "--validity-seconds", str(V)])
        for d in self.devices:
            d.write_conf(theta, jitter)
        live = [d for d in self.devices if not d.error]
        # Sync wave: every device renews everything at once, so that all certificates carry
        # (nearly) the same notBefore; their spread is what a storm without jitter inherits.
        t_sync0 = time.time()
        with cf.ThreadPoolExecutor(a.sync_j or len(live)) as ex:
            sync = list(ex.map(lambda d: d.enroll(["--server", srv.url, "renew", "--force"]), live))
        t_sync1 = time.time()
        sync_fail = [f"{d.serial}: exit {r[0]}: {(r[4] or r[3]).strip()[-300:]}"
                     for d, r in zip(live, sync) if r[0] != 0]
        issued = {}
        for e in srv.entries():
            k = self.identity_of(e)
            if e.get("op") == "simplereenroll" and e.get("status") == 200 and k:
                issued[k] = math.floor(e["t"])  # notBefore: the time of issue, to the second
        sync_times = sorted(issued.values())
        # The daemons: `devid-enroll run --interval I` on every device.
        tpm0, srv_cpu0 = self.tpm_cpu(), srv.cpu() or 0
        t_start = time.time()
        for d in live:
            out = open(os.path.join(d.dir, f"daemon-jitter{jitter}.log"), "w")
            d.daemon = subprocess.Popen(
                [self.enroll_bin, "--server", srv.url, "run", "--interval", str(a.interval)],
                env=d.env({"DEVID_LOG_STDERR": "1"}), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
            out.close()
        # A fixed window: until the last possible due time (threshold + jitter of the lifetime
        # after the last sync issue), plus one interval and a margin; it ends early once every
        # identity has renewed and one more interval has passed.
        want = set(issued)
        last_due = (max(sync_times) if sync_times else t_sync1) + (theta + jitter) / 100.0 * V
        deadline = last_due + a.interval + a.margin
        done_at = None
        while time.time() < deadline:
            time.sleep(0.5)
            seen = {self.identity_of(e) for e in srv.entries(since=t_start)
                    if e.get("op") == "simplereenroll" and e.get("status") == 200}
            if want and want <= seen:
                done_at = done_at or time.time()
                if time.time() >= done_at + a.interval + 1:
                    break
        t_end = time.time()
        daemon_cpu = sum(proc_cpu(d.daemon.pid) or 0 for d in live)
        tpm_cpu, srv_cpu = self.tpm_cpu() - tpm0, (srv.cpu() or 0) - srv_cpu0
        for d in live:
            d.daemon.terminate()
        exits = []
        for d in live:
            try:
                exits.append(d.daemon.wait(15))
            except subprocess.TimeoutExpired:
                d.daemon.kill()
                exits.append(d.daemon.wait())
            d.daemon = None
        stats = srv.stats()
        srv.stop()
        return self.analyse_storm(jitter, srv, issued, sync_times, sync_fail, t_sync0, t_sync1,
                                  t_start, t_end, stats, exits, live,
                                  {"daemons": r3(daemon_cpu), "swtpm": r3(tpm_cpu),
                                   "est_server": r3(srv_cpu)})

    def analyse_storm(self, jitter, srv, issued, sync_times, sync_fail, t_sync0, t_sync1, t_start,
                      t_end, stats, exits, live, cpu):
        a = self.a
        V, theta = a.validity, a.threshold
        entries = srv.entries(since=t_start)
        reqs = [e for e in entries if e.get("op") in ("simplereenroll", "simpleenroll", "cacerts",
                                                      "csrattrs")]
        ok = [e for e in reqs if e.get("op") == "simplereenroll" and e.get("status") == 200]
        errors = [e for e in entries if e.get("event") == "tls-error" or
                  (e.get("op") in ("simplereenroll", "simpleenroll") and e.get("status") != 200)]
        by_error = {}
        for e in errors:
            key = f"{e.get('status')} {e.get('error') or e.get('event')}"
            by_error[key] = by_error.get(key, 0) + 1
        first = {}
        for e in ok:
            k = self.identity_of(e)
            if k and k not in first:
                first[k] = e["t"]
        times = sorted(first.values())
        # requests per second over the window, 1 s bins from the daemons' start
        nbins = max(1, math.ceil(t_end - t_start))
        hist = [0] * nbins
        for e in reqs:
            b = int(e["t"] - t_start)
            if 0 <= b < nbins:
                hist[b] += 1
        peak5 = max(sum(hist[i:i + 5]) for i in range(max(1, nbins - 4))) / 5.0
        # Where in its jitter window each renewal fell: u = 0 at notBefore + threshold% of the
        # lifetime, 1 at threshold+jitter%. A due time drawn once per certificate, uniformly,
        # would give u uniform on [0, 1] (plus up to one --interval of the daemon's latency).
        u = []
        late = []
        for k, t in first.items():
            if k in issued:
                share = (t - issued[k]) / V * 100.0
                late.append(t - (issued[k] + theta / 100.0 * V))
                if jitter:
                    u.append((share - theta) / jitter)
        failed_attempts = []
        for d in live:
            path = os.path.join(d.dir, f"daemon-jitter{jitter}.log")
            for line in open(path, errors="replace"):
                if line.startswith("devid-enroll"):  # a renewal (or the pass) failed
                    failed_attempts.append(f"{d.serial}: {line.strip()[:300]}")
        res = {
            "jitter": jitter, "threshold": theta, "validity_s": V, "interval_s": a.interval,
            "sync": {"wall_s": r3(t_sync1 - t_sync0), "issued": len(issued),
                     "renewals_per_s": r3(len(issued) / (t_sync1 - t_sync0)),
                     "issue_spread_s": (sync_times[-1] - sync_times[0]) if sync_times else None,
                     "failures": sync_fail},
            "window_s": r3(t_end - t_start),
            "expected": len(issued), "renewed": len(first), "renewals_total": len(ok),
            "requests": len(reqs), "errors": len(errors), "errors_by_kind": by_error,
            "error_samples": [{k: e.get(k) for k in ("time", "op", "status", "error", "event")}
                              for e in errors[:5]],
            "failed_attempts": len(failed_attempts), "failed_attempt_samples": failed_attempts[:10], "daemon_exit_codes": sorted(set(exits)),
            "first_renewal_s": r3(times[0] - t_start) if times else None,
            "last_renewal_s": r3(times[-1] - t_start) if times else None,
            "spread_s": r3(times[-1] - times[0]) if times else None,
            "renewal_s": summary_of([t - t_start for t in times]),
            "peak_rps": max(hist), "peak_5s_rps": r3(peak5),
            "rate_per_s": hist,
            "after_threshold_s": summary_of(late),
            "max_inflight": stats.get("max_inflight"),
            "server_duration_ms": summary_of([e.get("duration_ms") or 0 for e in ok]),
            "cpu_s": cpu,
        }
        if jitter:
            res["jitter_position"] = {
                "p10": r3(pct(u, 10)), "p50": r3(pct(u, 50)), "p90": r3(pct(u, 90)),
                "max": r3(max(u)) if u else None,
                "first_half": r3(sum(1 for x in u if x < 0.5) / len(u)) if u else None,
                "uniform_expectation": {"p50": 0.5, "first_half": 0.5}}
            res["ideal_spread_s"] = r3(((sync_times[-1] - sync_times[0]) if sync_times else 0)
                                       + jitter / 100.0 * V)
        return res

    # ---- verification -------------------------------------------------------------------------

    def verify_device(self, d):
        """Every device ends with valid identities: IDevID and LDevID valid per `status`, the
        device-id chain verifies against the owner CA and its TPM key signs for it."""
        if d.error:
            return d.error
        rc, _, _, out, err = d.enroll(["--json", "status"])
        try:
            st = json.loads(out)
        except ValueError:
            return f"status: exit {rc}: {err.strip()[-200:]}"
        by = {x["name"]: x for x in st.get("identities", [])}
        for name in ("idevid", "ldevid"):
            x = by.get(name, {})
            if not x.get("present") or (x.get("chain") or {}).get("status") != "valid":
                return f"{name}: {json.dumps(x.get('chain'))}"
        if not st.get("healthy"):
            return "status: not healthy"
        if SERIAL_RE.search(by["idevid"]["certificate"]["subject"]).group(1) != d.serial:
            return "idevid: wrong subject " + by["idevid"]["certificate"]["subject"]
        chain = os.path.join(d.dir, "store", "device-id-chain.pem")
        env = d.env(self.ossl_env)
        r = subprocess.run(["openssl", "verify", "-CAfile", f"{self.pki}/owner-ca.pem", chain],
                           env=dict(os.environ), capture_output=True, text=True)
        if r.returncode != 0:
            return "device-id chain: " + (r.stdout + r.stderr).strip()[-200:]
        msg, sig = os.path.join(d.dir, "msg"), os.path.join(d.dir, "sig")
        with open(msg, "w") as f:
            f.write(f"fleet {d.serial}\n")
        r = subprocess.run(["openssl", "pkeyutl", "-provider", "devid", "-provider", "default",
                            "-sign", "-inkey", "devid:object=device-id", "-rawin", "-digest",
                            "sha256", "-in", msg, "-out", sig], env=env, capture_output=True,
                           text=True)
        if r.returncode != 0:
            return "device-id sign: " + r.stderr.strip()[-200:]
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-certin", "-inkey", chain, "-rawin",
                            "-digest", "sha256", "-in", msg, "-sigfile", sig],
                           env=dict(os.environ), capture_output=True, text=True)
        if r.returncode != 0:
            return "device-id signature does not verify with its certificate"
        return None

    def verify(self):
        with cf.ThreadPoolExecutor(self.a.j) as ex:
            bad = list(ex.map(self.verify_device, self.devices))
        return {"ok": sum(1 for b in bad if b is None),
                "failures": [f"{d.serial}: {b}" for d, b in zip(self.devices, bad) if b]}

    def cleanup(self):
        for d in self.devices:
            if d.daemon and d.daemon.poll() is None:
                d.daemon.kill()
                d.daemon.wait()
        for s in self.servers:
            try:
                s.stop()
            except Exception:
                pass
        for d in self.devices:
            d.stop_tpm()
        if not self.a.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"fleet: kept {self.work}")


# ---- report ------------------------------------------------------------------------------------


def bars(hist, width=50):
    """The request rate over the window, one line per bin group, as text bars."""
    if not any(hist):
        return ["    (no requests)"]
    lead = next(i for i, x in enumerate(hist) if x)
    lead = max(0, lead - 2)
    skipped = [f"    {0:4d}s ... {lead - 1}s: no requests"] if lead else []
    hist = hist[lead:]
    group = max(1, math.ceil(len(hist) / 30))
    rows = [sum(hist[i:i + group]) / group for i in range(0, len(hist), group)]
    top = max(rows) or 1
    return skipped + [f"    {lead + i * group:4d}s {r:6.1f}/s {'#' * round(r / top * width)}"
                      for i, r in enumerate(rows)]


def report(res):
    e = res["enroll"]
    p = res["params"]
    log("")
    log(f"== fleet: {p['n']} devices, -j {p['j']}, {res['host']['cores']} cores, "
        f"load {res['host']['loadavg_start'][0]:.1f} at start ==")
    s = res["setup"]
    log(f"swtpms: {p['n']} started in {s['wall_s']:.1f} s "
        f"(p50 {s['per_swtpm_s']['p50']:.2f} s each), {s['swtpm_rss_mb_total']} MB RSS in all")
    log(f"enrollment (IDevID -> LDevID -> device-id): {e['ok']}/{e['devices']} devices in "
        f"{e['wall_s']:.1f} s ({e['devices_per_s']:.2f} devices/s)")
    if e["per_device_s"]["n"]:
        log(f"  per device: p50 {e['per_device_s']['p50']:.2f} s, p99 "
            f"{e['per_device_s']['p99']:.2f} s, max {e['per_device_s']['max']:.2f} s")
    for step, v in e["per_step_s"].items():
        c = e["client_cpu_per_step_s"][step]
        if v["n"]:
            log(f"  {step:10s} p50 {v['p50']:.3f} s  p99 {v['p99']:.3f} s   "
                f"(devid-enroll CPU p50 {c['p50']:.3f} s)")
    log(f"  CPU: devid-enroll {e['cpu_s']['devid_enroll']:.1f} s, swtpm "
        f"{e['cpu_s']['swtpm']:.1f} s, EST servers {e['cpu_s']['est_servers']:.1f} s")
    for k, v in e["server_errors"].items():
        log(f"  server error answers (the client retried): {v} x {k}")
    for f in e["failures"][:10]:
        log(f"  FAIL {f}")
    for st in res["storms"]:
        log("")
        log(f"renewal storm, jitter {st['jitter']}% (threshold {st['threshold']}%, lifetime "
            f"{st['validity_s']} s, daemon --interval {st['interval_s']} s):")
        sy = st["sync"]
        log(f"  sync wave (renew --force, all at once): {sy['issued']} certificates in "
            f"{sy['wall_s']:.1f} s ({sy['renewals_per_s']:.1f}/s: what the machine can do), "
            f"notBefore spread {sy['issue_spread_s']} s")
        log(f"  renewed {st['renewed']}/{st['expected']} identities "
            f"({st['renewals_total']} reenrolls, {st['errors']} errors) in a "
            f"{st['window_s']:.0f} s window")
        if st["renewed"]:
            log(f"  first {st['first_renewal_s']:.1f} s, last {st['last_renewal_s']:.1f} s "
                f"after the daemons started: spread {st['spread_s']:.1f} s")
            log(f"  peak {st['peak_rps']} requests/s (1 s bins), {st['peak_5s_rps']:.1f}/s "
                f"(best 5 s), server max in flight {st['max_inflight']}")
        for k, v in st["errors_by_kind"].items():
            log(f"  server error answers (the client retried): {v} x {k}")
        if "jitter_position" in st:
            jp = st["jitter_position"]
            log(f"  position in the jitter window (0..1; uniform: p50 0.5): p10 {jp['p10']}, "
                f"p50 {jp['p50']}, p90 {jp['p90']}; {jp['first_half']:.0%} in the first half")
            log(f"  ideal spread (sync spread + jitter% of the lifetime): "
                f"{st['ideal_spread_s']:.1f} s")
        log(f"  CPU in the window: daemons {st['cpu_s']['daemons']:.1f} s, swtpm "
            f"{st['cpu_s']['swtpm']:.1f} s, EST server {st['cpu_s']['est_server']:.1f} s")
        log("  requests/s over the window:")
        for line in bars(st["rate_per_s"]):
            log(line)
        for f in st["sync"]["failures"][:5]:
            log(f"  FAIL {f}")
        if st["daemon_exit_codes"] != [0]:
            log(f"  FAIL daemon exit codes after SIGTERM: {st['daemon_exit_codes']} (expected 0;"
                f" see devices/*/daemon-jitter{st['jitter']}.log with --keep)")
        if st["failed_attempts"]:
            log(f"  {st['failed_attempts']} renewal attempts failed on the device (the daemon "
                f"tried again at its next pass), e.g.:")
            for f in st["failed_attempt_samples"][:3]:
                log(f"    {f}")
    v = res["verify"]
    log("")
    log(f"verification: {v['ok']}/{p['n']} devices end with valid identities "
        f"(IDevID, LDevID valid; device-id chain verifies and its key signs)")
    for f in v["failures"][:10]:
        log(f"  FAIL {f}")
    log(f"result: {'OK' if res['ok'] else 'FAILED'} ({res['elapsed_s']:.0f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(SRC, "build"))
    ap.add_argument("-n", type=int, default=50, help="devices (default 50)")
    ap.add_argument("-j", type=int, default=8, help="devices enrolling at once (default 8)")
    ap.add_argument("--json", help="results file (default BUILD/fleet-results.json)")
    ap.add_argument("--validity", type=int, default=60,
                    help="lifetime of the storm certificates in seconds (default 60)")
    ap.add_argument("--threshold", type=int, default=50, help="renew.threshold %% (default 50)")
    ap.add_argument("--jitters", default="0,30",
                    help="renew.jitter %% of each storm, comma list (default 0,30)")
    ap.add_argument("--interval", type=int, default=2,
                    help="devid-enroll run --interval (default 2)")
    ap.add_argument("--sync-j", type=int, default=0,
                    help="devices in the sync wave at once (default: all)")
    ap.add_argument("--margin", type=float, default=4.0,
                    help="seconds the storm window runs past the last due time (default 4)")
    ap.add_argument("--no-storm", action="store_true", help="enrollment only")
    ap.add_argument("--smoke", action="store_true",
                    help="3 devices, lifetime 40 s, threshold 20, interval 1: correctness only")
    ap.add_argument("--work-dir", help="keep everything here (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    a = ap.parse_args()
    if a.smoke:
        # lifetime 40 s, due 8-20 s after issue: ends early once all have renewed, and leaves
        # a loaded CI machine 10 s of margin before anything could expire
        a.n, a.j, a.validity, a.threshold, a.interval, a.margin = 3, 3, 40, 20, 1, 10.0
    jitters = [int(x) for x in a.jitters.split(",") if x != ""]
    if a.threshold + max(jitters, default=0) > 95:
        ap.error("threshold + jitter must stay below 95 (a renewal due at expiry fails)")
    if a.n < 1 or a.j < 1:
        ap.error("-n and -j must be positive")
    a.json = a.json or os.path.join(os.path.abspath(a.build_dir), "fleet-results.json")

    def on_signal(sig, frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)

    fleet = Fleet(a)
    t0 = time.monotonic()
    res = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "host": {"cores": os.cpu_count(), "machine": platform.machine(),
                    "kernel": platform.release(), "loadavg_start": loadavg()},
           "params": {"n": a.n, "j": a.j, "validity_s": a.validity, "threshold": a.threshold,
                      "jitters": jitters, "interval_s": a.interval, "smoke": a.smoke},
           "storms": []}
    try:
        log(f"fleet: {a.n} devices in {fleet.work}")
        fleet.setup()
        res["setup"] = fleet.start_tpms()
        log(f"fleet: {a.n} swtpms up in {res['setup']['wall_s']} s; enrolling (-j {a.j})")
        res["enroll"] = fleet.phase_enroll()
        log(f"fleet: {res['enroll']['ok']}/{a.n} enrolled in {res['enroll']['wall_s']} s")
        if not a.no_storm:
            for jit in jitters:
                log(f"fleet: renewal storm, jitter {jit}%")
                res["storms"].append(fleet.storm(jit))
                st = res["storms"][-1]
                log(f"fleet: {st['renewed']}/{st['expected']} renewed, spread {st['spread_s']} s,"
                    f" peak {st['peak_rps']}/s")
        res["verify"] = fleet.verify()
    finally:
        fleet.cleanup()
    res["host"]["loadavg_end"] = loadavg()
    res["elapsed_s"] = r3(time.monotonic() - t0)
    ok = res["enroll"]["ok"] == a.n and res["verify"]["ok"] == a.n
    for st in res["storms"]:
        # Correctness is the devices': every identity renewed within the window and valid at
        # the end. Error answers the clients retried through (errors_by_kind) and attempts that
        # failed and succeeded at a later pass (failed_attempts) are reported, not fatal.
        ok = ok and st["renewed"] == st["expected"] == 2 * a.n and not st["sync"]["failures"] \
            and st["daemon_exit_codes"] == [0]
    res["ok"] = ok
    report(res)
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    log(f"fleet: results in {a.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
