#!/usr/bin/env python3
"""SIGTERM under steady load: every request munjigi had accepted gets a complete answer.

    cargo build --release
    python3 scripts/reliability/shutdown.py [--rounds 3] [--before 5] [--threads 16] [--sqlite]

Per round: a fresh start of munjigi on one PostgreSQL database (munjigi_rel_shutdown),
--before seconds of load (counted once every load thread has signed in), SIGTERM, and the
load goes on until the process has exited. Load threads: half open a new connection per
request (Connection: close), half keep their connection alive; they send client_credentials,
refresh (each thread its own chain), userinfo and discovery requests in turn; two more
threads run whole sign-in flows (argon2 makes their login POST the slowest request in
flight). Every request records when its connection was established, when its request was
completely sent and how it ended: a complete answer (status line, headers and a body as long
as Content-Length), refused (no connection), closed without an answer, or truncated.

Checks, with t = the moment SIGTERM was sent:
- a request completely sent before t gets a complete answer (none closed or truncated);
- a request on a connection established before t but sent after t gets a complete answer or
  its connection closed without an answer (the keep-alive connection ends: allowed);
- a connection attempted after t is refused, answered completely, or closed without an
  answer (a connection still in the listen backlog when munjigi closes its listener at the
  end of shutdown_grace_ms is reset): closed ones are noted with their timing, not counted;
- nothing is ever truncated, and no answer is a 5xx;
- the process exits by itself with status 0, within munjigi's 30 s drain.
Exit status 0 when every round passes.
"""

import argparse
import datetime as dt
import http.client
import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import log  # noqa: E402

NO_ANSWER = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, ConnectionAbortedError)


class Client:
    """http.client with the moments that matter: connected, sent, answered."""

    def __init__(self, port, keep_alive):
        self.port, self.keep_alive = port, keep_alive
        self.conn = None
        self.connected_at = None
        self.answered = 0   # answers on the current connection

    def request(self, method, path, body=None, headers=None):
        """(connected_at, sent_at, outcome, status, seconds, body, started, reused) where outcome
        is one of complete | refused | closed | truncated | error:Name, and reused says the
        connection had already carried an answer (so munjigi had certainly accepted it)."""
        headers = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            import urllib.parse
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if not self.keep_alive:
            headers["Connection"] = "close"
        sent_at = None
        started = time.time()
        reused = self.conn is not None and self.answered > 0
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                try:
                    self.conn.connect()
                except OSError:
                    self.conn = None
                    return None, None, "refused", None, time.time() - started, None, started, False
                self.connected_at = time.time()
                self.answered = 0
            connected_at = self.connected_at
            self.conn.request(method, path, body=body, headers=headers)
            sent_at = time.time()
            r = self.conn.getresponse()
            data = r.read()
            status = r.status
            self.answered += 1
            if r.will_close or not self.keep_alive:
                self.close()
            return connected_at, sent_at, "complete", status, time.time() - started, data, started, reused
        except http.client.IncompleteRead:
            self.close()
            return connected_at, sent_at, "truncated", None, time.time() - started, None, started, reused
        except NO_ANSWER as e:
            self.close()
            # Nothing at all came back on this connection for this request.
            return connected_at, sent_at, "closed", type(e).__name__, time.time() - started, None, started, reused
        except Exception as e:
            self.close()
            return (self.connected_at, sent_at, f"error:{type(e).__name__}", None, time.time() - started, None,
                    started, reused)

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


class Round:
    def __init__(self, server, threads):
        self.server, self.n_threads = server, threads
        # (kind, scenario, connected_at, sent_at, outcome, status, seconds, started, reused)
        self.records = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.signed_in = threading.Semaphore(0)

    def rec(self, kind, scenario, result):
        connected_at, sent_at, outcome, status, seconds, _, started, reused = result
        with self.lock:
            self.records.append((kind, scenario, connected_at, sent_at, outcome, status, seconds, started, reused))
        return result

    def mixed(self, keep_alive):
        kind = "keep-alive" if keep_alive else "new connection"
        c = Client(self.server.port, keep_alive)
        basic = {"Authorization": common.basic_auth()}
        tokens = common.sign_in_tokens(self.server.base)
        self.signed_in.release()
        n = 0
        while not self.stop.is_set():
            n += 1
            which = n % 4
            if which == 0:
                self.rec(kind, "client_credentials",
                         c.request("POST", "/token", {"grant_type": "client_credentials"}, basic))
            elif which == 1:
                r = self.rec(kind, "refresh", c.request(
                    "POST", "/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, basic))
                if r[2] == "complete" and r[3] == 200:
                    import json
                    tokens = json.loads(r[5])
            elif which == 2:
                self.rec(kind, "userinfo", c.request(
                    "GET", "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}))
            else:
                self.rec(kind, "discovery", c.request("GET", "/.well-known/openid-configuration"))
            if self.stop.is_set():
                break
            if n % 50 == 0 or (c.conn is None and not keep_alive):
                time.sleep(0.002)

    def flows(self):
        """Whole sign-ins; only the login POST (argon2) is recorded, as a new connection."""
        import urllib.parse
        while not self.stop.is_set():
            b = common.Browser(self.server.base, timeout=60)
            try:
                params = {"client_id": common.CLIENT_ID, "redirect_uri": common.REDIRECT, "response_type": "code",
                          "scope": "openid", "state": "s",
                          "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                          "code_challenge_method": "S256"}
                r = b.request("GET", "/authorize?" + urllib.parse.urlencode(params))
                r = b.request("GET", r.header("location"))
                parser = common.FormParser()
                parser.feed(r.body.decode())
                form = next(f for f in parser.forms if any(n == "password" for n, _, _ in f["inputs"]))
                fields = {n: (common.USER if n == "username" else common.PASSWORD if n == "password" else v)
                          for n, v, _ in form["inputs"]}
                c = Client(self.server.port, keep_alive=False)
                self.rec("new connection", "login POST", c.request(
                    "POST", form["action"], fields,
                    {"Cookie": "; ".join(f"{k}={v}" for k, v in b.cookies.items())}))
            except Exception:
                time.sleep(0.05)   # the server is going away: the pages before the POST are not the subject
            finally:
                b.close()

    def run(self, before):
        workers = []
        for i in range(self.n_threads):
            workers.append(threading.Thread(target=self.mixed, args=(i % 2 == 0,), daemon=True))
        workers += [threading.Thread(target=self.flows, daemon=True) for _ in range(2)]
        for w in workers:
            w.start()
        # The clock starts once every load thread has its tokens (sign-ins are one at a time).
        for _ in range(self.n_threads):
            if not self.signed_in.acquire(timeout=120):
                raise SystemExit("the load threads could not sign in within 120 s")
        time.sleep(before)
        t_term = time.time()
        self.server.process.send_signal(signal.SIGTERM)
        try:
            code = self.server.process.wait(timeout=40)
        except Exception:
            code = "did not exit within 40 s"
        t_exit = time.time()
        time.sleep(1)
        self.stop.set()
        for w in workers:
            w.join(timeout=70)
        return t_term, t_exit, code


def count_errors(records):
    """How the connections without an answer ended: ConnectionResetError (a reset: e.g. still in
    the listen backlog when the listener closed), RemoteDisconnected (closed by munjigi)..."""
    counts = {}
    for r in records:
        counts[r[5]] = counts.get(r[5], 0) + 1
    return counts


def classify(records, t_term):
    classes = {"sent before SIGTERM": [], "connected before, sent after": [], "connected after SIGTERM": []}
    for r in records:
        kind, scenario, connected_at, sent_at, outcome, status, seconds, _, _ = r
        if connected_at is not None and sent_at is not None and sent_at < t_term:
            classes["sent before SIGTERM"].append(r)
        elif connected_at is not None and connected_at < t_term:
            classes["connected before, sent after"].append(r)
        else:
            classes["connected after SIGTERM"].append(r)
    return classes


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--before", type=float, default=5)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--sqlite", action="store_true")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if not (1 <= args.rounds <= 10 and 1 <= args.before <= 60 and 2 <= args.threads <= 32):
        sys.exit("rounds 1-10, before 1-60 s, threads 2-32")
    started_at = dt.datetime.now(dt.timezone.utc)
    backend = "sqlite" if args.sqlite else "postgres"
    out, problems, notes, totals = [], [], [], {}
    with common.Setup("shutdown", backend=backend, keep=args.keep) as s:
        server = s.server
        out.append(f"Shutdown {started_at:%Y-%m-%d %H:%M} UTC on {backend}: {args.rounds} rounds, {args.before:.0f} s "
                   f"of load then SIGTERM, {args.threads} mixed threads (half new connection per request, half "
                   f"keep-alive) + 2 sign-in flow threads; binary built {server.binary_mtime} "
                   f"(sha256 {server.binary_sha256}…).")
        out.append("")
        out.append("| round | class | requests | complete | closed without answer | refused | truncated | other | "
                   "5xx |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        summary = []
        for n in range(1, args.rounds + 1):
            server.start()
            rnd = Round(server, args.threads)
            t_term, t_exit, code = rnd.run(args.before)
            in_flight = [r for r in rnd.records if r[3] is not None and r[3] < t_term
                         and r[3] + r[6] > t_term and r[4] == "complete"]
            first_refused = min((r[7] for r in rnd.records if r[4] == "refused"), default=None)
            last_complete = max((r[3] + r[6] for r in rnd.records if r[4] == "complete" and r[3]), default=t_term)
            for name, rs in classify(rnd.records, t_term).items():
                counts = {}
                for r in rs:
                    counts[r[4]] = counts.get(r[4], 0) + 1
                fives = sum(1 for r in rs if r[4] == "complete" and r[5] >= 500)
                other = sum(v for k, v in counts.items() if k not in ("complete", "closed", "refused", "truncated"))
                out.append(f"| {n} | {name} | {len(rs)} | {counts.get('complete', 0)} | {counts.get('closed', 0)} | "
                           f"{counts.get('refused', 0)} | {counts.get('truncated', 0)} | {other} | {fives} |")
                t = totals.setdefault(name, {})
                for k, v in counts.items():
                    t[k] = t.get(k, 0) + v
                t["5xx"] = t.get("5xx", 0) + fives
                bad = [r for r in rs if r[4] == "truncated" or r[4].startswith("error:")
                       or (r[4] == "complete" and r[5] >= 500)]
                if name == "sent before SIGTERM":
                    # On a connection that had already carried an answer munjigi had certainly
                    # accepted it; a first request on a new connection may have been in the
                    # listen backlog still (not accepted) - reported, not counted against it.
                    bad += [r for r in rs if r[4] == "closed" and r[8]]
                    for r in rs:
                        if r[4] == "closed" and not r[8]:
                            notes.append(f"round {n}: a first request on a new connection sent "
                                         f"{(r[3] - t_term) * 1000:+.1f} ms from SIGTERM (connected "
                                         f"{(r[2] - t_term) * 1000:+.1f} ms) was closed without an answer: "
                                         f"the connection may not have left the listen backlog")
                if name == "connected after SIGTERM":
                    closed = [r for r in rs if r[4] == "closed"]
                    if closed:
                        conn = [(r[2] - t_term) * 1000 for r in closed if r[2]]
                        sent = [(r[3] - t_term) * 1000 for r in closed if r[3]]
                        notes.append(f"round {n}: {len(closed)} connections made after SIGTERM were closed without "
                                     f"an answer (connected {min(conn, default=0):+.0f} to {max(conn, default=0):+.0f} "
                                     f"ms, request sent {min(sent, default=0):+.0f} to {max(sent, default=0):+.0f} ms "
                                     f"from SIGTERM; {sum(1 for r in closed if r[8])} had carried an answer before; "
                                     f"{', '.join(f'{k}: {v}' for k, v in sorted(count_errors(closed).items()))})")
                for r in bad[:10]:
                    problems.append(f"round {n}, {name}: {r[0]} {r[1]} {r[4]} {r[5]} (answers before on this "
                                    f"connection: {'yes' if r[8] else 'no'}; connected "
                                    f"{(r[2] - t_term) * 1000 if r[2] else float('nan'):+.1f} ms, sent "
                                    f"{(r[3] - t_term) * 1000 if r[3] else float('nan'):+.1f} ms from SIGTERM)")
                if len(bad) > 10:
                    problems.append(f"round {n}, {name}: … {len(bad) - 10} more")
            if code != 0:
                problems.append(f"round {n}: exit status {code}")
            slow_in_flight = [r for r in in_flight if r[1] == "login POST"]
            summary.append(
                f"Round {n}: SIGTERM after {len(rnd.records)} requests; {len(in_flight)} requests were in flight "
                f"(sent before, answered after; {len(slow_in_flight)} of them login POSTs), the last answered "
                f"{(last_complete - t_term) * 1000:.0f} ms after SIGTERM; first refused connection "
                f"{'—' if first_refused is None else f'{(first_refused - t_term) * 1000:+.0f} ms'}; "
                f"process exited {(t_exit - t_term) * 1000:.0f} ms after SIGTERM with status {code}.")
            log(summary[-1])
        out.append("")
        out += summary
        out.append("")
        out.append("Totals: " + "; ".join(f"{k}: " + ", ".join(f"{kk} {vv}" for kk, vv in sorted(v.items()))
                                          for k, v in totals.items()) + ".")
        if notes:
            out.append("Notes:")
            out += [f"- {n_}" for n_ in notes]
        if problems:
            out.append(f"Problems ({len(problems)}):")
            out += [f"- {p_}" for p_ in problems]
        out.append(f"Result: {'PASS' if not problems else 'FAIL'}")
        print("\n".join(out))
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
