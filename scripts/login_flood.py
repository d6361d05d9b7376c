#!/usr/bin/env python3
"""Memory under a sign-in flood: N concurrent wrong-password logins against one munjigi
process, while /healthz is asked every 100 ms. Prints peak RSS, the answers, and how long
/healthz took at worst.

Loopback only, bounded (one round of N logins, a few seconds), standard library only:

    cargo build --release
    python3 scripts/login_flood.py [--concurrency 200] [--binary target/release/munjigi]

It starts its own server on the embedded SQLite default in a temporary folder, on a free port
of 127.0.0.1, and stops it afterwards. The figures go to standard output (docs/abuse.md keeps
the latest ones).
"""

import argparse
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def attempt(base, results, index):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    try:
        page = opener.open(f"{base}/login", timeout=60).read().decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode(
            {"csrf": csrf, "request": "", "username": f"flood{index % 7}", "password": "wrong pw!"}
        ).encode()
        try:
            status = opener.open(f"{base}/login", data=body, timeout=60).status
        except urllib.error.HTTPError as e:
            status = e.code
    except Exception as e:  # an answer that never came is the finding
        status = f"error: {e.__class__.__name__}"
    results[index] = status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--binary", default="target/release/munjigi")
    parser.add_argument("--quiet-wait", type=int, default=0,
                        help="also report RSS after this many quiet seconds (hashing memory is freed after 30)")
    args = parser.parse_args()
    if not 1 <= args.concurrency <= 2000:
        sys.exit("concurrency must be between 1 and 2000")

    workdir = tempfile.mkdtemp(prefix="munjigi-flood-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUNJIGI_") and k != "DATABASE_URL"}
    env.update({"MUNJIGI_ISSUER": base, "MUNJIGI_BIND": f"127.0.0.1:{port}", "RUST_LOG": "warn"})
    binary = os.path.abspath(args.binary)
    server = subprocess.Popen([binary, "serve"], cwd=workdir, env=env, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/readyz", timeout=1)
                break
            except Exception:
                time.sleep(0.05)
        idle = rss_kib(server.pid)

        stop = threading.Event()
        peak = [idle]
        health = []

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kib(server.pid))
                started = time.monotonic()
                try:
                    ok = urllib.request.urlopen(f"{base}/healthz", timeout=10).status == 200
                except Exception:
                    ok = False
                health.append((ok, time.monotonic() - started))
                time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        results = [None] * args.concurrency
        threads = [threading.Thread(target=attempt, args=(base, results, i)) for i in range(args.concurrency)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        time.sleep(0.5)
        stop.set()
        watcher.join()
        after = rss_kib(server.pid)

        counts = {}
        for r in results:
            counts[str(r)] = counts.get(str(r), 0) + 1
        healthy = sum(1 for ok, _ in health if ok)
        worst = max((d for _, d in health), default=0.0)
        print(f"concurrent wrong-password logins: {args.concurrency} in {elapsed:.2f} s")
        print(f"answers: {dict(sorted(counts.items()))}")
        print(f"RSS: idle {idle / 1024:.1f} MiB, peak {peak[0] / 1024:.1f} MiB, after {after / 1024:.1f} MiB")
        print(f"/healthz: {healthy}/{len(health)} answered 200, slowest {worst * 1000:.0f} ms")
        if args.quiet_wait:
            time.sleep(args.quiet_wait)
            print(f"RSS after {args.quiet_wait} quiet seconds: {rss_kib(server.pid) / 1024:.1f} MiB")
        failed = peak[0] > 150 * 1024 or healthy != len(health) or any(str(r).startswith("error") for r in results)
        return 1 if failed else 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
