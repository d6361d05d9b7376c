#!/usr/bin/env python3
"""munjigi's benchmark, side by side with node-oidc-provider, in one run.

    bench/run.sh [--rounds 3] [--seconds 10] [--connections 64] [--no-peer] [--write-docs]

Builds nothing itself (run.sh does), starts munjigi on SQLite and on PostgreSQL and the peer
from ../shared/peers/node-oidc-provider, seeds a client and a user through munjigi's CLI, and
measures every scenario for a fixed time and connection count, in alternating rounds
(sqlite, peer, postgres for one scenario, then the next). Each figure is the median of the
rounds. Loopback only. Results go to bench/results/<time>.json, the table to standard output
and, with --write-docs, into docs/benchmarks.md.
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MUNJIGI = os.path.join(ROOT, "target", "release", "munjigi")
DRIVER = os.path.join(ROOT, "bench", "driver", "target", "release", "munjigi-bench-driver")
LUA = os.path.join(ROOT, "bench", "request.lua")
PEER_DIR = os.path.normpath(os.path.join(ROOT, "..", "shared", "peers", "node-oidc-provider"))
PASSWORD = "correct horse battery staple"
SECRET = "bench-secret-0123456789abcdef0123"
PG_ADMIN = os.environ.get("MUNJIGI_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")

USERS = [f"bench{n}" for n in range(8)]
SCENARIOS = ["healthz", "jwks", "discovery", "client_credentials", "userinfo", "introspection", "refresh", "flow"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid):
    """(cpu seconds, rss KiB) of a process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        with open(f"/proc/{pid}/status") as f:
            rss = next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
        return ticks / os.sysconf("SC_CLK_TCK"), rss
    except OSError:
        return 0.0, 0


def anon_kib(pid):
    """Anonymous RSS: the process's own memory, without code mapped from files."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(l.split()[1]) for l in f if l.startswith("RssAnon:")), 0)
    except OSError:
        return 0


def wait_ready(url, within=30):
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            urllib.request.urlopen(url, timeout=1)
            return time.monotonic() - started
        except Exception:
            time.sleep(0.002)
    raise SystemExit(f"{url} not ready within {within} s")


def discovery(base):
    with urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=5) as r:
        return json.load(r)


class Target:
    """A server under test: how to reach it and what it calls things."""

    def __init__(self, name, base, pid, client, secret, ceiling, users):
        self.name, self.base, self.pid, self.users = name, base, pid, users
        self.client, self.secret, self.ceiling = client, secret, ceiling
        doc = discovery(base)
        self.jwks = doc["jwks_uri"]
        self.token = doc["token_endpoint"]
        self.userinfo = doc["userinfo_endpoint"]
        self.introspect = doc["introspection_endpoint"]
        self.access_token = None

    def driver_args(self):
        return ["--base", self.base, "--client", self.client, "--secret", self.secret,
                "--user", ",".join(self.users), "--password", PASSWORD]


def driver(mode, target, conns, seconds):
    out = subprocess.run([DRIVER, mode, *target.driver_args(), "--conns", str(conns), "--seconds", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise SystemExit(f"driver {mode} on {target.name}: {out.stderr.strip()}")
    return out.stdout


def basic(target):
    import base64
    return "Basic " + base64.b64encode(f"{target.client}:{target.secret}".encode()).decode()


def wrk_request(target, scenario):
    """(url, method, body, headers) of a wrk scenario, or None where it does not apply."""
    form = "application/x-www-form-urlencoded"
    if scenario == "healthz":
        return (target.ceiling, "GET", "", {}) if target.ceiling else None
    if scenario == "jwks":
        return (target.jwks, "GET", "", {})
    if scenario == "discovery":
        return (f"{target.base}/.well-known/openid-configuration", "GET", "", {})
    if scenario == "client_credentials":
        return (target.token, "POST", "grant_type=client_credentials", {"Authorization": basic(target), "Content-Type": form})
    if scenario == "userinfo":
        return (target.userinfo, "GET", "", {"Authorization": f"Bearer {target.access_token}"})
    if scenario == "introspection":
        return (target.introspect, "POST", f"token={target.access_token}", {"Authorization": basic(target), "Content-Type": form})
    return None


def parse_wrk(text):
    def num(pattern, default=0.0):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else default

    def ms(pattern):
        m = re.search(pattern + r"\s+([\d.]+)(us|ms|s)\b", text)
        if not m:
            return 0.0
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = num(r"(\d+) requests in")
    errors = num(r"Non-2xx or 3xx responses: (\d+)") + sum(
        float(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    return {"requests": requests, "rps": num(r"Requests/sec:\s+([\d.]+)"), "p50_ms": ms(r"50%"),
            "p99_ms": ms(r"99%"), "errors": errors}


def measure(target, scenario, args):
    if scenario in ("userinfo", "introspection"):
        # A fresh token each time: the peer's in-memory store is an LRU that the
        # client_credentials scenario floods, evicting any older token.
        target.access_token = driver("token", target, 1, 1).strip()
    cpu0, rss0 = proc_stat(target.pid)
    peak = [rss0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], proc_stat(target.pid)[1])
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    profiler = None
    if args.perf and target.name.startswith("munjigi"):
        # Call graphs of the server alone, for `perf report -i <file>`.
        data = os.path.join(args.perf, f"{target.name}-{scenario}.data")
        profiler = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(target.pid), "-o", data],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    try:
        if scenario in ("refresh", "flow"):
            conns = 32 if scenario == "refresh" else 8
            result = json.loads(driver(scenario, target, conns, args.seconds))
            result["requests"] = result["ok"]
        else:
            request = wrk_request(target, scenario)
            if request is None:
                return None
            url, method, body, headers = request
            env = dict(os.environ, WRK_METHOD=method, WRK_BODY=body,
                       WRK_HEADERS=json.dumps(headers))
            out = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
                                  "-s", LUA, url], capture_output=True, text=True, env=env,
                                 timeout=args.seconds + 60)
            result = parse_wrk(out.stdout)
    finally:
        stop.set()
        sampler.join()
        if profiler:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
    cpu1, _ = proc_stat(target.pid)
    result["cpu_ms_per_req"] = (cpu1 - cpu0) * 1000 / result["requests"] if result["requests"] else 0.0
    result["peak_rss_mib"] = peak[0] / 1024
    return result


def start_munjigi(name, database_url, workdir):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUNJIGI_") and k != "DATABASE_URL"}
    env.update({
        "MUNJIGI_ISSUER": base, "MUNJIGI_BIND": f"127.0.0.1:{port}",
        "MUNJIGI_KEK": "YmVuY2htYXJrIEtFSywgbm90IGZvciBwcm9kdWN0aW8=",
        # The benchmark is one address hammering on purpose.
        "MUNJIGI_RATE_LIMIT_TOKEN_PER_MINUTE": "0", "MUNJIGI_RATE_LIMIT_AUTHORIZE_PER_MINUTE": "0",
        "MUNJIGI_RATE_LIMIT_FORMS_PER_MINUTE": "0", "MUNJIGI_RATE_LIMIT_CLIENT_PER_MINUTE": "0",
    })
    if database_url:
        env["DATABASE_URL"] = database_url

    def cli(*args, stdin=None):
        subprocess.run([MUNJIGI, *args], cwd=workdir, env=env, input=stdin, text=True, check=True,
                       stdout=subprocess.DEVNULL)

    cli("migrate")
    cli("client", "create", "--name", "bench", "--id", "bench", "--secret", SECRET, "--skip-consent",
        "--redirect-uri", "http://127.0.0.1:9999/cb",
        "--grant-types", "authorization_code,refresh_token,client_credentials",
        "--scopes", "openid profile email offline_access")
    # One account per concurrent sign-in: munjigi throttles many at once on one account.
    for n in range(len(USERS)):
        cli("user", "create", "--username", USERS[n], "--email", f"{USERS[n]}@example.test",
            "--password-stdin", stdin=PASSWORD + "\n")
    # Start-to-ready is the median of three starts (the first pays for cold caches).
    readies = []
    for attempt in range(3):
        server = subprocess.Popen([MUNJIGI, "serve"], cwd=workdir, env=env, stderr=subprocess.DEVNULL)
        readies.append(wait_ready(f"{base}/readyz"))
        if attempt < 2:
            server.terminate()
            server.wait(timeout=10)
    ready = statistics.median(readies)
    time.sleep(0.5)
    idle = proc_stat(server.pid)[1] / 1024
    return server, Target(name, base, server.pid, "bench", SECRET, f"{base}/healthz", USERS), {
        "ready_ms": ready * 1000, "idle_rss_mib": idle, "idle_anon_mib": anon_kib(server.pid) / 1024}


def start_peer():
    port = 3000
    env = dict(os.environ, PORT=str(port))
    server = subprocess.Popen(["./start.sh"], cwd=PEER_DIR, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    ready = wait_ready(f"{base}/.well-known/openid-configuration", within=300)
    time.sleep(0.5)
    # start.sh execs node, so the PID is node's.
    idle = proc_stat(server.pid)[1] / 1024
    return server, Target("peer", base, server.pid, "peer-confidential", "peer-confidential-secret", None, ["alice"]), {
        "ready_ms": ready * 1000, "idle_rss_mib": idle, "idle_anon_mib": anon_kib(server.pid) / 1024}


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    version = lambda cmd: subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0] if shutil.which(cmd[0]) else "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1), "kernel": platform.release(),
            "rustc": version(["rustc", "--version"]), "node": version(["node", "--version"]),
            "postgres": version(["psql", "--version"]), "wrk": "wrk (Debian)"}


def table(results, starts, args, info):
    names = [n for n in ["munjigi-sqlite", "munjigi-postgres", "peer"] if n in results]
    lines = [f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; {info['kernel']}; "
             f"{info['rustc']}; node {info['node']}; {info['postgres']}.",
             f"Load: wrk, {args.connections} connections, 2 threads, {args.seconds} s per scenario "
             f"(refresh: 32 chains, flow: 8 browsers, with the Rust driver in bench/driver); "
             f"load generator on the same cores. Median of {args.rounds} alternating rounds.", "",
             "| scenario | " + " | ".join(f"{n} req/s (p50 / p99 ms, errors, CPU ms/req, peak RSS MiB)" for n in names)
             + " | munjigi/peer |",
             "|---|" + "---|" * (len(names) + 1)]
    for scenario in [s for s in SCENARIOS if any(results[n].get(s) for n in names)]:
        cells, best = [], 0.0
        for n in names:
            runs = [r for r in results[n].get(scenario, []) if r]
            if not runs:
                cells.append("—")
                continue
            med = {k: statistics.median(r[k] for r in runs) for k in ["rps", "p50_ms", "p99_ms", "errors", "cpu_ms_per_req", "peak_rss_mib"]}
            if n != "peer":
                best = max(best, med["rps"])
            cells.append(f"**{med['rps']:,.0f}** ({med['p50_ms']:.2f} / {med['p99_ms']:.2f}, {med['errors']:.0f}, "
                         f"{med['cpu_ms_per_req']:.3f}, {med['peak_rss_mib']:.0f})")
        peer_runs = [r for r in results.get("peer", {}).get(scenario, []) if r]
        ratio = f"{best / statistics.median(r['rps'] for r in peer_runs):.1f}×" if peer_runs and best else "—"
        lines.append(f"| {scenario} | " + " | ".join(cells) + f" | {ratio} |")
    lines.append("")
    lines.append("| | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    lines.append("| start to ready (ms) | " + " | ".join(f"{starts[n]['ready_ms']:.0f}" for n in names) + " |")
    lines.append("| idle RSS (MiB) | " + " | ".join(f"{starts[n]['idle_rss_mib']:.1f}" for n in names) + " |")
    lines.append("| of which anonymous (MiB) | " + " | ".join(f"{starts[n]['idle_anon_mib']:.1f}" for n in names) + " |")
    return "\n".join(lines)


def main():
    global MUNJIGI
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated, of: " + ", ".join(SCENARIOS))
    parser.add_argument("--munjigi", default=MUNJIGI,
                        help="the server binary (e.g. target/profiling/munjigi, which has symbols)")
    parser.add_argument("--perf", metavar="DIR",
                        help="record each munjigi measurement with `perf record -g` into DIR")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    if not set(scenarios) <= set(SCENARIOS):
        sys.exit("scenarios: " + ", ".join(SCENARIOS))
    if args.perf:
        os.makedirs(args.perf, exist_ok=True)
    MUNJIGI = os.path.abspath(args.munjigi)
    if not (1 <= args.rounds <= 9 and 1 <= args.seconds <= 120 and 1 <= args.connections <= 1024):
        sys.exit("rounds 1-9, seconds 1-120, connections 1-1024")

    servers, targets, starts = [], {}, {}
    workdir = tempfile.mkdtemp(prefix="munjigi-bench-")
    try:
        sqlite_dir = os.path.join(workdir, "sqlite")
        os.makedirs(sqlite_dir)
        server, target, start = start_munjigi("munjigi-sqlite", None, sqlite_dir)
        servers.append(server); targets[target.name] = target; starts[target.name] = start
        if not args.no_postgres:
            db = "munjigi_bench"
            subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], check=True)
            subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{db}"'], check=True)
            pg_dir = os.path.join(workdir, "postgres")
            os.makedirs(pg_dir)
            # Loopback: TLS to the database would only burn CPU (sqlx's default is to prefer it).
            url = PG_ADMIN.split("?", 1)[0].rsplit("/", 1)[0] + f"/{db}?sslmode=disable"
            server, target, start = start_munjigi("munjigi-postgres", url, pg_dir)
            servers.append(server); targets[target.name] = target; starts[target.name] = start
        if not args.no_peer:
            server, target, start = start_peer()
            servers.append(server); targets[target.name] = target; starts[target.name] = start

        order = [n for n in ["munjigi-sqlite", "peer", "munjigi-postgres"] if n in targets]
        results = {n: {} for n in targets}
        for round_no in range(args.rounds):
            for scenario in scenarios:
                for name in (order if round_no % 2 == 0 else list(reversed(order))):
                    result = measure(targets[name], scenario, args)
                    results[name].setdefault(scenario, []).append(result)
                    if result:
                        print(f"round {round_no + 1} {scenario:18} {name:17} {result['rps']:10.0f} req/s "
                              f"p99 {result['p99_ms']:.2f} ms errors {result['errors']:.0f}", file=sys.stderr)
        info = machine()
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        with open(os.path.join(ROOT, "bench", "results", f"{stamp}.json"), "w") as f:
            json.dump({"machine": info, "args": vars(args), "starts": starts, "results": results}, f, indent=1)
        text = table(results, starts, args, info)
        print(text)
        if args.write_docs:
            path = os.path.join(ROOT, "docs", "benchmarks.md")
            doc = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n<!-- table -->\n<!-- /table -->\n"
            doc = re.sub(r"<!-- table -->.*<!-- /table -->",
                         f"<!-- table -->\nRun {stamp} with `bench/run.sh {' '.join(sys.argv[1:])}`:\n\n{text}\n<!-- /table -->",
                         doc, flags=re.S)
            with open(path, "w") as f:
                f.write(doc)
    finally:
        for server in servers:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
