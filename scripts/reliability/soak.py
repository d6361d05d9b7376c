#!/usr/bin/env python3
"""Mixed-load soak: every scenario at once against one munjigi on PostgreSQL.

    cargo build --release
    python3 scripts/reliability/soak.py [--minutes 10] [--scale 1] [--sqlite] [--json FILE]

Scenarios, each its own threads on keep-alive connections (counts at --scale 1):
client_credentials (2), jwks (1), discovery (1), healthz (1, 20/s), userinfo (2),
introspection (2: access tokens, and every 10th request the thread's refresh token),
refresh chains (4: each thread rotates its own chain), whole sign-in flows (2: GET /authorize
-> login form with its CSRF token -> consent when shown -> code -> token; every other flow
with prompt=consent, so the consent form is exercised too).

Every answer is counted per scenario (flow steps separately). munjigi's RSS, CPU, threads
and open files are sampled every 10 s. Pass: the process stays up; no 5xx, no transport error
and no answer other than 200 (303 for flow steps) in any scenario; no introspected token
inactive and no refresh chain refused; and flat memory: after a warm-up (--warmup, default 60 s) the median RSS of the last third of
the samples is at most 10 % above the median of the first third. Exit status 0 on pass.
Loopback only; the database munjigi_rel_soak is dropped at the end.
"""

import argparse
import datetime as dt
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Browser, Http, log, median  # noqa: E402

FLAT_RATIO = 1.10


def transport_error(e):
    return f"error:{type(e).__name__}"


class Soak:
    def __init__(self, base, tally, stop, pace):
        self.base, self.tally, self.stop, self.pace = base, tally, stop, pace

    def record(self, scenario, fn, expect=(200,)):
        """Runs one request; counts its status (or error). Returns the response or None."""
        try:
            r = fn()
        except Exception as e:  # a transport failure is a finding: counted, not fatal
            self.tally.add(scenario, transport_error(e), detail=repr(e))
            time.sleep(0.1)
            return None
        self.tally.add(scenario, r.status, r.seconds,
                       detail=r.body[:300] if r.status not in expect else None)
        return r

    def loop(self, body, pace=None):
        pace = self.pace if pace is None else pace
        while not self.stop.is_set():
            body()
            if pace:
                time.sleep(pace)

    # --- scenarios -------------------------------------------------------------------------

    def client_credentials(self):
        h = Http(self.base)
        self.loop(lambda: self.record("client_credentials",
                                      lambda: common.token(h, {"grant_type": "client_credentials"})))

    def get(self, scenario, path, pace=None):
        h = Http(self.base)
        self.loop(lambda: self.record(scenario, lambda: h.request("GET", path)), pace)

    def chain(self, scenario="refresh"):
        """A refresh chain: (http, state) with the newest tokens; a new sign-in when the chain
        is refused (which would itself be a finding, counted as such)."""
        state = {"tokens": common.sign_in_tokens(self.base), "at": time.monotonic()}
        h = Http(self.base)

        def rotate():
            r = self.record(scenario, lambda: common.token(
                h, {"grant_type": "refresh_token", "refresh_token": state["tokens"]["refresh_token"]}))
            if r is None:
                return False
            if r.status == 200:
                state["tokens"], state["at"] = r.json(), time.monotonic()
                return True
            if r.status < 500:
                self.tally.add("chain restarted", r.status, detail=r.body[:300])
                state["tokens"], state["at"] = common.sign_in_tokens(self.base), time.monotonic()
            return False

        return h, state, rotate

    def refresh(self):
        _, _, rotate = self.chain()
        self.loop(rotate)

    def userinfo(self):
        h, state, rotate = self.chain("upkeep refresh")

        def one():
            if time.monotonic() - state["at"] > 120:
                rotate()
            self.record("userinfo", lambda: h.request(
                "GET", "/userinfo", headers={"Authorization": "Bearer " + state["tokens"]["access_token"]}))

        self.loop(one)

    def introspection(self):
        h, state, rotate = self.chain("upkeep refresh")
        n = [0]

        def one():
            if time.monotonic() - state["at"] > 120:
                rotate()
            n[0] += 1
            which = "refresh_token" if n[0] % 10 == 0 else "access_token"
            r = self.record("introspection", lambda: h.request(
                "POST", "/introspect", {"token": state["tokens"][which]}, {"Authorization": common.basic_auth()}))
            if r is not None and r.status == 200 and not r.json().get("active"):
                self.tally.add("introspection inactive", which, detail=r.body[:300])

        self.loop(one)

    def flow(self):
        n = [0]

        def step(r):
            self.tally.add("flow steps", r.status, r.seconds,
                           detail=r.body[:300] if r.status not in (200, 303) else None)

        def one():
            n[0] += 1
            b = Browser(self.base)
            started = time.monotonic()
            try:
                code, verifier = b.sign_in(prompt="consent" if n[0] % 2 else None, on_step=step)
                r = common.redeem(b, code, verifier)
                step(r)
                self.tally.add("flow", r.status, time.monotonic() - started,
                               detail=r.body[:300] if r.status != 200 else None)
            except common.FlowError as e:
                self.tally.add("flow", e.status or "FlowError", detail=str(e))
                time.sleep(0.2)
            except Exception as e:
                self.tally.add("flow", transport_error(e), detail=repr(e))
                time.sleep(0.2)
            finally:
                b.close()

        self.loop(one)


def rss_table(samples):
    lines = ["| t (s) | RSS MiB | CPU % (interval) | threads | open fds | requests | req/s (interval) |",
             "|---|---|---|---|---|---|---|"]
    prev = None
    for t, rss, cpu, threads, fds, reqs in samples:
        if prev:
            dt_ = t - prev[0]
            cpu_pct = (cpu - prev[2]) / dt_ * 100 if dt_ else 0
            rate = (reqs - prev[5]) / dt_ if dt_ else 0
            lines.append(f"| {t:.0f} | {rss / 1024:.1f} | {cpu_pct:.0f} | {threads} | {fds} | {reqs} | {rate:.0f} |")
        else:
            lines.append(f"| {t:.0f} | {rss / 1024:.1f} | – | {threads} | {fds} | {reqs} | – |")
        prev = (t, rss, cpu, threads, fds, reqs)
    return "\n".join(lines)


def flatness(samples, warmup):
    after = [s for s in samples if s[0] >= warmup]
    if len(after) < 6:
        return None
    third = len(after) // 3
    first = median([s[1] for s in after[:third]]) / 1024
    last = median([s[1] for s in after[-third:]]) / 1024
    # Least-squares slope over the samples after warm-up, MiB per minute.
    xs = [s[0] for s in after]
    ys = [s[1] / 1024 for s in after]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 60 if den else 0.0
    return {"first_third_median_mib": first, "last_third_median_mib": last, "ratio": last / first if first else 0,
            "slope_mib_per_min": slope, "max_mib": max(ys), "samples_after_warmup": len(after),
            "flat": last <= first * FLAT_RATIO}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--scale", type=int, default=1, help="multiplies the thread count of every scenario")
    p.add_argument("--pace", type=float, default=0.0, help="seconds each thread sleeps between requests")
    p.add_argument("--warmup", type=float, default=60)
    p.add_argument("--every", type=float, default=10, help="RSS sampling period (s)")
    p.add_argument("--sqlite", action="store_true", help="embedded SQLite instead of PostgreSQL")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if not (0.1 <= args.minutes <= 60 and 1 <= args.scale <= 4):
        sys.exit("minutes 0.1-60, scale 1-4")

    started_at = dt.datetime.now(dt.timezone.utc)
    with common.Setup("soak", backend="sqlite" if args.sqlite else "postgres", keep=args.keep) as s:
        server = s.server
        ready = server.start()
        log(f"munjigi {server.base} pid {server.pid} ready in {ready * 1000:.0f} ms ({s.backend})")
        tally = common.Tally()
        stop = threading.Event()
        soak = Soak(server.base, tally, stop, args.pace)
        plan = [("client_credentials", soak.client_credentials, 2),
                ("jwks", lambda: soak.get("jwks", "/jwks.json"), 1),
                ("discovery", lambda: soak.get("discovery", "/.well-known/openid-configuration"), 1),
                ("healthz", lambda: soak.get("healthz", "/healthz", pace=0.05), 1),
                ("userinfo", soak.userinfo, 2), ("introspection", soak.introspection, 2),
                ("refresh", soak.refresh, 4), ("flow", soak.flow, 2)]
        threads = []
        crashed = []

        def guarded(name, fn):
            try:
                fn()
            except BaseException as e:  # a worker that dies is reported, the soak goes on
                crashed.append(f"{name}: {e!r}")
                log("worker died:", name, repr(e))

        for name, fn, n in plan:
            for i in range(n * args.scale):
                t = threading.Thread(target=guarded, args=(f"{name}-{i}", fn), daemon=True)
                threads.append(t)
        sampler = common.RssSampler(server.pid, args.every, lambda: tally.count_where(lambda k: True))
        sampler.start()
        t0 = time.monotonic()
        for t in threads:
            t.start()
        duration = args.minutes * 60
        while time.monotonic() - t0 < duration:
            time.sleep(min(30, max(0.1, duration - (time.monotonic() - t0))))
            if not server.alive():
                log("munjigi exited!")
                break
            fives = tally.count_where(lambda k: isinstance(k, int) and k >= 500)
            errs = tally.count_where(lambda k: isinstance(k, str) and k.startswith("error:"))
            last = sampler.samples[-1] if sampler.samples else None
            log(f"{time.monotonic() - t0:5.0f} s  requests {tally.count_where(lambda k: True)}  5xx {fives}  "
                f"transport errors {errs}  RSS {last[1] / 1024 if last else 0:.1f} MiB")
        stop.set()
        for t in threads:
            t.join(timeout=40)
        elapsed = time.monotonic() - t0
        sampler.stop()
        alive = server.alive()
        rows = {}
        if alive:
            for table in ("refresh_tokens", "sessions", "revoked_grants"):
                rows[table] = int(common.query(server.database, f"SELECT COUNT(*) FROM {table}")[0][0])
        fives = tally.count_where(lambda k: isinstance(k, int) and k >= 500)
        errs = tally.count_where(lambda k: isinstance(k, str) and k.startswith("error:"))
        unexpected = {sc: {k: v for k, v in per.items() if k not in (200, 303)} for sc, per in tally.counts.items()
                      if sc not in ("introspection inactive", "chain restarted")}
        unexpected = {k: v for k, v in unexpected.items() if v}
        flat = flatness(sampler.samples, args.warmup)
        anomalies = {k: tally.total(k) for k in ("introspection inactive", "chain restarted") if tally.total(k)}
        passed = (alive and fives == 0 and errs == 0 and not crashed and not unexpected and not anomalies
                  and flat is not None and flat["flat"])

        out = []
        out.append(f"Soak {started_at:%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min, munjigi on {s.backend} "
                   f"(binary built {server.binary_mtime}, sha256 {server.binary_sha256}…), "
                   f"{len(threads)} load threads, RSS every {args.every:.0f} s.")
        out.append("")
        out.append(tally.table())
        out.append("")
        total = tally.count_where(lambda k: True)
        out.append(f"Total answers and errors counted: {total} ({total / elapsed:.0f}/s). 5xx: {fives}. "
                   f"Transport errors: {errs}. Non-200/303 answers: {unexpected or 'none'}. "
                   f"Introspection inactive / chains restarted: {anomalies or 'none'}. "
                   f"Workers died: {crashed or 'none'}. Process alive at the end: {alive}. Rows at the end: {rows}.")
        if tally.first:
            out.append("")
            out.append("First body/detail per unexpected outcome:")
            for (sc, k), d in sorted(tally.first.items(), key=lambda kv: str(kv[0])):
                out.append(f"- {sc} {k}: {d!r}"[:400])
        out.append("")
        out.append(rss_table(sampler.samples))
        out.append("")
        if flat:
            out.append(f"Memory after {args.warmup:.0f} s warm-up: first-third median {flat['first_third_median_mib']:.1f} MiB, "
                       f"last-third median {flat['last_third_median_mib']:.1f} MiB (ratio {flat['ratio']:.3f}, "
                       f"limit {FLAT_RATIO:.2f}), least-squares slope {flat['slope_mib_per_min']:+.3f} MiB/min, "
                       f"max {flat['max_mib']:.1f} MiB -> {'flat' if flat['flat'] else 'NOT flat'}.")
        else:
            out.append("Too few samples after warm-up to judge memory.")
        out.append(f"Result: {'PASS' if passed else 'FAIL'}")
        text = "\n".join(out)
        print(text)
        if not alive or fives or errs:
            log("log tail:", *server.log_tail(), sep="\n")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"started": started_at.isoformat(), "elapsed_s": elapsed, "backend": s.backend,
                           "counts": {k: {str(kk): vv for kk, vv in v.items()} for k, v in tally.counts.items()},
                           "samples": sampler.samples, "flatness": flat, "rows": rows, "passed": passed}, f, indent=1)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
