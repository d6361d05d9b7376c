#!/usr/bin/env python3
"""PostgreSQL unreachable for 10 s in the middle of load, through a TCP proxy.

    cargo build --release
    python3 scripts/reliability/outage.py [--before 10] [--outage 10] [--after 20] [--mode refuse|blackhole]

munjigi's DATABASE_URL points at a small proxy in this script (127.0.0.1:<free port> ->
127.0.0.1:5432). Under load (refresh chains, userinfo, introspection, client_credentials,
GET /authorize, the JWKS, /healthz and /readyz, each on its own threads) the proxy, after
--before seconds, for --outage seconds

- refuse (default): resets every proxied connection and closes its listening socket, so new
  connections are refused; then listens again on the same port;
- blackhole: keeps every connection open and accepts new ones but forwards nothing (a
  database that stopped answering); at the end it resets them all and forwards again.

Checks: the process stays alive; /healthz answers 200 throughout; no request hangs (none
takes longer than --hang seconds); during the outage database-backed requests answer 503
or succeed from a cache, never another status (no 408, no other 5xx; a refresh's 400 only
after a presentation without an answer, see below); the first detection of the outage may
wait (the pool's acquire timeout, then a fresh connection refused or timed out), but the
database is marked unreachable within --detect seconds of the cut, the requests already
waiting then take at most --detect seconds each, and every 503 of a request started after
the mark is fast (none slower than --fast seconds); after the proxy is back, everything succeeds
again without a restart (time to recover printed: first 200 of /readyz and of every
scenario, and the last 503). A refresh whose answer was lost
(the database committed the rotation but the connection dropped before munjigi read the
result) makes the chain's next presentation a reuse, which revokes the family: such chains
are counted. Exit status 0 on pass. Database munjigi_rel_outage, dropped at the end.
"""

import argparse
import datetime as dt
import os
import select
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Http, log, pct  # noqa: E402

DB_BACKED = ("refresh", "userinfo", "introspection", "authorize", "client_credentials", "readyz")
SUCCESS = {"authorize": 303}   # every other scenario: 200


class Proxy(threading.Thread):
    """A TCP forwarder on 127.0.0.1 that can be taken down and brought back."""

    def __init__(self, upstream=("127.0.0.1", 5432)):
        super().__init__(daemon=True)
        self.upstream = upstream
        self.port = common.free_port()
        self.listener = None
        self.peer = {}      # socket -> the other socket of its pair
        self.out = {}       # socket -> bytes waiting to be written to it
        self.mode = "up"    # up | refuse | blackhole
        self.wanted = "up"
        self.stopped = False
        self.accepted = 0
        self.events = []
        self._listen()

    def _listen(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        s.setblocking(False)
        self.listener = s

    def _reset_all(self):
        n = 0
        for s in list(self.peer):
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            s.close()
            n += 1
        self.peer.clear()
        self.out.clear()
        return n // 2

    def _close_pair(self, s):
        other = self.peer.pop(s, None)
        self.out.pop(s, None)
        s.close()
        if other is not None:
            # Flush what is waiting for the other side, then close it.
            pending = self.out.pop(other, b"")
            if pending:
                try:
                    other.setblocking(True)
                    other.settimeout(1)
                    other.sendall(pending)
                except OSError:
                    pass
            self.peer.pop(other, None)
            other.close()

    def set(self, wanted):
        self.wanted = wanted

    def run(self):
        while not self.stopped:
            if self.wanted != self.mode:
                # The change's time is taken before it starts: the first reset can already
                # reach munjigi while the others are being closed.
                began = time.monotonic()
                if self.wanted == "refuse":
                    pairs = self._reset_all()
                    self.listener.close()
                    self.listener = None
                    self.events.append((began, f"refuse: reset {pairs} connections, listener closed"))
                elif self.wanted == "blackhole":
                    self.events.append((began, f"blackhole: {len(self.peer) // 2} connections frozen"))
                elif self.wanted == "up":
                    pairs = self._reset_all()
                    if self.listener is None:
                        self._listen()
                    self.events.append((time.monotonic(), f"up: reset {pairs} frozen connections, listening"))
                self.mode = self.wanted
            forwarding = self.mode == "up"
            rlist = ([self.listener] if self.listener else []) + (list(self.peer) if forwarding else [])
            wlist = [s for s, b in self.out.items() if b] if forwarding else []
            if not rlist and not wlist:
                time.sleep(0.02)
                continue
            try:
                readable, writable, _ = select.select(rlist, wlist, [], 0.02)
            except (OSError, ValueError):
                continue
            for s in readable:
                if s is self.listener:
                    try:
                        client, _ = s.accept()
                    except OSError:
                        continue
                    self.accepted += 1
                    try:
                        server = socket.create_connection(self.upstream, timeout=2)
                    except OSError:
                        client.close()
                        continue
                    client.setblocking(False)
                    server.setblocking(False)
                    self.peer[client], self.peer[server] = server, client
                    self.out[client], self.out[server] = b"", b""
                    continue
                if s not in self.peer:
                    continue
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._close_pair(s)
                    continue
                other = self.peer[s]
                self.out[other] = self.out.get(other, b"") + data
            for s in writable:
                if s not in self.out:
                    continue
                try:
                    sent = s.send(self.out[s])
                    self.out[s] = self.out[s][sent:]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    self._close_pair(s)

    def stop(self):
        self.stopped = True
        self.join(timeout=5)
        self._reset_all()
        if self.listener:
            self.listener.close()


class Load:
    def __init__(self, base, pace):
        self.base, self.pace = base, pace
        self.records = []   # (scenario, t_start, seconds, outcome)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.lost_families = 0
        self.lost_detail = []
        self.unexplained_400 = []   # (t_start, body): a refresh refused at its first presentation

    def rec(self, scenario, fn, start=None):
        t = time.monotonic() if start is None else start
        try:
            r = fn()
            outcome = r.status
        except Exception as e:
            r, outcome = None, f"error:{type(e).__name__}"
        with self.lock:
            self.records.append((scenario, t, time.monotonic() - t, outcome))
        return r

    def loop(self, body, pace=None):
        while not self.stop.is_set():
            body()
            time.sleep(self.pace if pace is None else pace)

    def simple(self, scenario, method, path, body=None, headers=None, pace=None):
        h = Http(self.base, timeout=60)
        self.loop(lambda: self.rec(scenario, lambda: h.request(method, path, body, headers)), pace)

    def tokens(self):
        return common.sign_in_tokens(self.base)

    def refresh(self):
        h = Http(self.base, timeout=60)
        state = {"t": self.tokens(), "tries": []}

        def one():
            t = time.monotonic()
            r = self.rec("refresh", lambda: common.token(
                h, {"grant_type": "refresh_token", "refresh_token": state["t"]["refresh_token"]}), start=t)
            state["tries"].append((t, time.monotonic() - t, r.status if r is not None else "error"))
            if r is not None and r.status == 200:
                state["t"], state["tries"] = r.json(), []
            elif r is not None and r.status == 400:
                # After a presentation without a 200, the token was rotated by a commit whose
                # answer was lost: the family is gone. A 400 at the first presentation of a
                # token just received has no such excuse.
                with self.lock:
                    if len(state["tries"]) > 1:
                        self.lost_families += 1
                        self.lost_detail.append((list(state["tries"]), r.body[:200]))
                    else:
                        self.unexplained_400.append((t, r.body[:200]))
                state["t"], state["tries"] = self.tokens(), []

        self.loop(one)

    def with_access_token(self, scenario, make):
        h = Http(self.base, timeout=60)
        t = self.tokens()
        self.loop(lambda: self.rec(scenario, lambda: make(h, t["access_token"])))


def summarize(records, t_down, t_up, t_end):
    phases = {"before": (0, t_down), "during": (t_down, t_up), "after": (t_up, t_end)}
    lines = ["| phase | scenario | requests | statuses | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---|---|---|---|---|---|---|"]
    for phase, (a, b) in phases.items():
        for scenario in sorted({r[0] for r in records}):
            rs = [r for r in records if r[0] == scenario and a <= r[1] < b]
            if not rs:
                continue
            counts = {}
            for r in rs:
                counts[r[3]] = counts.get(r[3], 0) + 1
            lat = [r[2] for r in rs]
            st = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))
            lines.append(f"| {phase} | {scenario} | {len(rs)} | {st} | {pct(lat, .5) * 1000:.1f} | "
                         f"{pct(lat, .95) * 1000:.1f} | {pct(lat, .99) * 1000:.1f} | {max(lat) * 1000:.1f} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", type=float, default=10)
    p.add_argument("--outage", type=float, default=10)
    p.add_argument("--after", type=float, default=20)
    p.add_argument("--mode", choices=["refuse", "blackhole"], default="refuse")
    p.add_argument("--pace", type=float, default=0.01, help="seconds each thread sleeps between requests")
    p.add_argument("--hang", type=float, default=10, help="a request slower than this counts as a hang")
    p.add_argument("--recover-within", type=float, default=15)
    p.add_argument("--fast", type=float, default=1.0,
                   help="after the first detection, a 503 slower than this is not fast")
    p.add_argument("--detect", type=float, default=3.5,
                   help="the database must be marked unreachable within this many seconds of the cut, "
                        "and a request waiting for that takes at most this long "
                        "(pool acquire timeout 2 s + fresh connection 1 s + margin)")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if not (1 <= args.before <= 120 and 1 <= args.outage <= 120 and 5 <= args.after <= 300):
        sys.exit("before 1-120, outage 1-120, after 5-300 seconds")

    started_at = dt.datetime.now(dt.timezone.utc)
    proxy = Proxy()
    proxy.start()
    db = "munjigi_rel_outage"
    proxied = f"postgres://postgres@127.0.0.1:{proxy.port}/{db}"
    try:
        with common.Setup("outage", database_url=proxied, keep=args.keep) as s:
            server = s.server
            ready = server.start()
            log(f"munjigi {server.base} pid {server.pid} ready in {ready * 1000:.0f} ms; "
                f"DATABASE_URL via proxy 127.0.0.1:{proxy.port}")
            load = Load(server.base, args.pace)
            basic = {"Authorization": common.basic_auth()}
            authorize = "/authorize?" + "&".join([
                f"client_id={common.CLIENT_ID}", "response_type=code", "scope=openid",
                "redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcb", "state=s",
                "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method=S256"])
            plan = [(load.refresh, 4),
                    (lambda: load.with_access_token("userinfo", lambda h, at: h.request(
                        "GET", "/userinfo", headers={"Authorization": "Bearer " + at})), 2),
                    (lambda: load.with_access_token("introspection", lambda h, at: h.request(
                        "POST", "/introspect", {"token": at}, basic)), 2),
                    (lambda: load.simple("client_credentials", "POST", "/token",
                                         {"grant_type": "client_credentials"}, basic), 2),
                    (lambda: load.simple("authorize", "GET", authorize), 1),
                    (lambda: load.simple("jwks", "GET", "/jwks.json"), 1),
                    (lambda: load.simple("healthz", "GET", "/healthz", pace=0.05), 1),
                    (lambda: load.simple("readyz", "GET", "/readyz", pace=0.1), 1)]
            threads = [threading.Thread(target=fn, daemon=True) for fn, n in plan for _ in range(n)]
            for t in threads:
                t.start()
            # The clock starts once every worker has its tokens.
            waited = time.monotonic()
            while len({r[0] for r in load.records}) < len(plan) and time.monotonic() - waited < 60:
                time.sleep(0.1)
            t0 = time.monotonic()
            with load.lock:
                load.records = [r for r in load.records if r[1] >= t0]
            time.sleep(args.before)
            rss_before = common.proc_sample(server.pid)
            t_down = time.monotonic()
            proxy.set(args.mode)
            log(f"database {args.mode} for {args.outage:.0f} s")
            alive_during = True
            while time.monotonic() - t_down < args.outage:
                alive_during = alive_during and server.alive()
                time.sleep(0.1)
            t_up = time.monotonic()
            proxy.set("up")
            log("database back")
            time.sleep(args.after)
            t_end = time.monotonic()
            # The proxy changes state in its own loop (within 20 ms): its own clock is the truth.
            t_down = next(t for t, ev in proxy.events if not ev.startswith("up"))
            t_up = next(t for t, ev in proxy.events if ev.startswith("up"))
            load.stop.set()
            for t in threads:
                t.join(timeout=args.hang + 5)
            hung_threads = sum(t.is_alive() for t in threads)
            alive = server.alive()
            rss_after = common.proc_sample(server.pid)
            final = None
            if alive:
                try:
                    final = Http(server.base, timeout=5).request("GET", "/readyz").status
                except Exception as e:
                    final = repr(e)
            records = [(sc, t - t0, d, o) for sc, t, d, o in load.records]
            td, tu, te = t_down - t0, t_up - t0, t_end - t0

            def recs(scenario=None, a=None, b=None):
                return [r for r in records if (scenario is None or r[0] == scenario)
                        and (a is None or r[1] >= a) and (b is None or r[1] < b)]

            during = recs(a=td, b=tu)
            other_5xx = [r for r in records if isinstance(r[3], int) and r[3] >= 500 and r[3] != 503]
            # A 503 that ended before the database went away has no excuse.
            outside_503 = [r for r in records if r[3] == 503 and r[1] + r[2] < td]
            slowest = max((r[2] for r in records), default=0)
            healthz_bad = [r for r in recs("healthz") if r[3] != 200]
            db_during = [r for r in during if r[0] in DB_BACKED]
            answered_503 = [r[2] for r in db_during if r[3] == 503]
            # First detection: the first request that waits for the pool (ACQUIRE_TIMEOUT) and
            # then finds a fresh connection refused (or timed out) marks the database unreachable
            # and is answered 503 (the first slow 503 to end after the cut), unless a connection
            # error marked it earlier (then a request started after the cut is answered 503 at
            # once: the first such answer bounds the mark). Requests that were
            # already waiting for a connection at that moment wait their own timeout too (part of
            # the detection: each at most --detect). Every 503 of a request started after the
            # mark (during the outage, or after it until the probe sees the database back) is
            # "later" and must be fast. A slow 503 that started before the mark and took longer
            # than --detect waited for something else (a query the database never answered):
            # caught mid-query, judged by the hang limit.
            db_503 = [r for r in records if r[0] in DB_BACKED and r[3] == 503]
            slow_503 = [r for r in db_503 if r[2] > args.fast and r[1] + r[2] >= td]
            t_mark = min([r[1] + r[2] for r in slow_503]
                         + [r[1] + r[2] for r in db_503 if r[1] >= td and r[2] <= args.fast], default=td)
            detection = [r for r in slow_503 if r[1] < t_mark and r[2] <= args.detect]
            stuck = [r for r in slow_503 if r[1] < t_mark and r[2] > args.detect]
            t_detect = max((r[1] + r[2] for r in detection), default=t_mark)
            later_503 = [r for r in db_503 if r[1] >= t_mark]
            slow_later = [r for r in later_503 if r[2] > args.fast]
            detected_in_time = t_mark - td <= args.detect
            # Any answer but the scenario's success and 503 (a refresh refused with 400 after a
            # lost answer is the strict-rotation trade-off: counted below, not a failure; a 400
            # at a token's first presentation is unexpected).
            first_400 = {t - t0 for t, _ in load.unexplained_400}   # as the records' start times
            unexpected = [r for r in records if isinstance(r[3], int) and r[3] != SUCCESS.get(r[0], 200)
                          and r[3] != 503 and not (r[0] == "refresh" and r[3] == 400
                                                   and r[1] not in first_400)]
            recovery = {}
            for scenario in sorted({r[0] for r in records}):
                ok_after = [r for r in recs(scenario, a=tu) if ok(r[3])]
                first_ok = min((r[1] + r[2] for r in ok_after), default=None)
                bad_after = [r for r in recs(scenario, a=tu) if not ok(r[3])]
                last_bad = max((r[1] + r[2] for r in bad_after), default=None)
                recovery[scenario] = (None if first_ok is None else first_ok - tu,
                                      None if last_bad is None else last_bad - tu, len(bad_after))
            settled = all(v[0] is not None and (v[1] is None or v[1] <= args.recover_within)
                          for v in recovery.values())
            transport = [r for r in records if isinstance(r[3], str)]
            passed = (alive and alive_during and final == 200 and not other_5xx and not healthz_bad
                      and not outside_503 and not unexpected
                      and slowest < args.hang and hung_threads == 0 and settled and not transport)

            out = [f"Outage ({args.mode}) {started_at:%Y-%m-%d %H:%M} UTC: {args.before:.0f} s of load, database "
                   f"unreachable for {args.outage:.0f} s, then {args.after:.0f} s; binary built "
                   f"{server.binary_mtime} (sha256 {server.binary_sha256}…); {len(threads)} load threads, "
                   f"{args.pace * 1000:.0f} ms pause between requests per thread.", ""]
            out += [f"Proxy: {ev} (t = {t - t0:.2f} s)" for t, ev in proxy.events]
            out += ["", summarize(records, td, tu, te), ""]
            out.append(f"During the outage, database-backed requests answered 503: {len(answered_503)} "
                       f"(latency p50 {pct(answered_503, .5) * 1000:.1f} ms, p95 {pct(answered_503, .95) * 1000:.1f} ms, "
                       f"p99 {pct(answered_503, .99) * 1000:.1f} ms, max {max(answered_503, default=0) * 1000:.1f} ms); "
                       f"other answers during the outage: "
                       f"{ {k: v for k, v in count_by(db_during).items() if k != 503} or 'none'}.")
            out.append("Recovery after the proxy came back (seconds after it listened again): " + "; ".join(
                f"{sc}: first success at {fmt(v[0])}, last failure ended at {fmt(v[1])} ({v[2]} failures)"
                for sc, v in recovery.items()) + ".")
            out.append(f"Refresh chains whose family was revoked because a rotation's answer was lost: "
                       f"{load.lost_families}.")
            for tries, body in load.lost_detail:
                shown = [f"({t - t0:.2f}, {d * 1000:.0f}, {st})" for t, d, st in tries]
                if len(shown) > 6:
                    middle = tries[3:-2]
                    shown = shown[:3] + [f"… {len(middle)} more, answers {count_by([(0, 0, 0, st) for *_, st in middle])}, "
                                         f"latency max {max(d for _, d, _ in middle) * 1000:.0f} ms …"] + shown[-2:]
                out.append(f"  presentations of that token ({len(tries)}; start s, latency ms, answer): "
                           + ", ".join(shown) + f"; last body {body!r}")
            def dist(rs):
                lat = [r[2] for r in rs]
                return (f"{len(rs)} (latency p50 {pct(lat, .5) * 1000:.1f} ms, p99 {pct(lat, .99) * 1000:.1f} ms, "
                        f"max {max(lat, default=0) * 1000:.1f} ms)")
            out.append(f"First detection: the database was marked unreachable by {t_mark - td:.2f} s after the cut "
                       f"(the end of the first slow 503, or of the first fast 503 of a request started after the "
                       f"cut; limit {args.detect:.1f} s); {dist(detection)} 503s waited "
                       f"for it (started {min((r[1] for r in detection), default=td) - td:+.2f} to "
                       f"{max((r[1] for r in detection), default=td) - td:+.2f} s from the cut; each may take up to "
                       f"{args.detect:.1f} s), the last answered {t_detect - td:.2f} s after the cut. Caught "
                       f"mid-query (a slow 503 started before the mark that took longer than {args.detect:.1f} s, "
                       f"judged by the hang limit): {dist(stuck)}.")
            out.append(f"Later 503s (requests started after the mark): {dist(later_503)}; slower than "
                       f"{args.fast:.1f} s: {len(slow_later)}.")
            fast = detected_in_time and not slow_later
            out.append(f"503s fast after the first detection: {'yes' if fast else 'NO'}.")
            unexpected_counts = count_by(unexpected)
            out.append(f"Answers other than success, 503 or a refresh's 400 after a lost answer: "
                       f"{ {f'{k}': v for k, v in unexpected_counts.items()} or 'none'}"
                       + (" — " + ", ".join(f"{r[0]} {r[3]} at {r[1] - td:+.2f} s from the cut after "
                                              f"{r[2] * 1000:.0f} ms" for r in unexpected[:5]) if unexpected else "")
                       + ".")
            out.append(f"Slowest request: {slowest * 1000:.0f} ms (hang limit {args.hang:.0f} s). Threads still "
                       f"blocked at the end: {hung_threads}. Transport errors: {len(transport)}. 5xx other than 503: "
                       f"{len(other_5xx)}. 503 before the outage: {len(outside_503)}. /healthz non-200: "
                       f"{len(healthz_bad)}. Process alive during and after: {alive_during and alive}; /readyz at "
                       f"the end: {final}. RSS before/after: {kib(rss_before)} / {kib(rss_after)} MiB.")
            verdicts = {"alive": alive and alive_during and final == 200,
                        "no hang": slowest < args.hang and hung_threads == 0,
                        "no 5xx but 503, none before the outage": not other_5xx and not outside_503,
                        "no unexpected status (408…)": not unexpected,
                        "/healthz always 200": not healthz_bad, "no transport error": not transport,
                        "recovered without restart": settled,
                        "first detection in time, later 503s fast": fast}
            out.append(f"Result: {'PASS' if passed and fast else 'FAIL'} (" + ", ".join(
                f"{k}: {'yes' if v else 'NO'}" for k, v in verdicts.items()) + ")")
            print("\n".join(out))
            if not (passed and fast):
                log("log tail:", *server.log_tail(30), sep="\n")
    finally:
        proxy.stop()
        if not args.keep:
            common.drop_pg_database(db)
    sys.exit(0 if passed and fast else 1)


def ok(outcome):
    return isinstance(outcome, int) and 200 <= outcome < 400


def count_by(records):
    counts = {}
    for r in records:
        counts[r[3]] = counts.get(r[3], 0) + 1
    return counts


def fmt(v):
    return "—" if v is None else f"{v:.2f} s"


def kib(sample):
    return f"{sample[0] / 1024:.1f}" if sample else "?"


if __name__ == "__main__":
    main()
