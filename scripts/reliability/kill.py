#!/usr/bin/env python3
"""SIGKILL in the middle of refresh load, restart, and check every refresh-token family.

    cargo build --release
    python3 scripts/reliability/kill.py [--chains 48] [--before 8] [--after 5] [--grace 0] [--sqlite]

Each chain is one family: a sign-in (scope openid offline_access), then refresh after refresh
with the newest token, one request at a time. The client side records every refresh token
it received and every presentation (which token, when, and the answer, or the transport
error when there was none). After --before seconds munjigi is killed with SIGKILL; each chain
stops at its first request without an answer ("in doubt": the request may or may not have
reached the database). The table is read right after the kill (the snapshot), munjigi is
restarted on the same database and port, and then:

1. every chain presents the newest token it holds (the one in doubt): if the rotation had not
   committed it succeeds and the chain goes on refreshing for --after seconds; if it had (the
   answer was lost with the process), it is a reuse, and with the default grace of 0 s the
   family is revoked (munjigi cannot tell a client that lost an answer from a thief);
2. every other chain (even numbers) then presents its previous, already spent token: it must
   be refused (outside the grace window) and its family revoked.

Then munjigi is stopped and the refresh_tokens table is checked (SQL printed with --sql):

- per family: tokens = 1 + rotated (every rotated token has exactly one successor; the
  rotation and its successor commit together), and at most one live token (unrotated and
  unrevoked); with --grace > 0, each reuse accepted within the window adds one successor
  and revokes the unused successor it replaces, so "at most one live token" still holds
  (checked by SQL with any grace);
- every token the client received in a 200 is in the table, in its family (nothing answered
  was lost); every token presented with a 200 is rotated;
- no token was accepted twice (two 200s for the same token), outside the grace window;
- a family holds at most one token the client never saw, and only when its last request was
  in doubt and the snapshot shows that request's token rotated ("rotated"); otherwise the
  token in doubt is live in the snapshot ("untouched") - nothing in between;
- after the restart: "untouched" chains' first presentation succeeded, "rotated" chains' was
  refused (with grace 0) or accepted (within the grace window); chains still going at the
  end have exactly one live token, the newest they hold; revoked families (replayed or lost)
  have none.

Exit status 0 when every check holds. Database munjigi_rel_kill (or a SQLite file), removed
at the end.
"""

import argparse
import datetime as dt
import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Http, log, rt_hash  # noqa: E402

FAMILIES_SQL = """SELECT grant_id, COUNT(*) AS tokens,
       SUM(CASE WHEN rotated_at IS NOT NULL THEN 1 ELSE 0 END) AS rotated,
       SUM(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL THEN 1 ELSE 0 END) AS live,
       SUM(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END) AS revoked
  FROM refresh_tokens GROUP BY grant_id"""
TOKENS_SQL = "SELECT token_hash, grant_id, COALESCE(rotated_at, -1), COALESCE(revoked_at, -1), created_at FROM refresh_tokens"
INVARIANT_SQL = """-- families breaking "tokens = 1 + rotated" or "at most one live token" (grace 0): none expected
SELECT grant_id, COUNT(*) AS tokens, COUNT(rotated_at) AS rotated,
       SUM(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL THEN 1 ELSE 0 END) AS live
  FROM refresh_tokens GROUP BY grant_id
HAVING COUNT(*) <> COUNT(rotated_at) + 1
    OR SUM(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL THEN 1 ELSE 0 END) > 1"""
LIVE_SQL = """-- families with more than one live token (any grace): none expected
SELECT grant_id, COUNT(*) AS tokens, COUNT(rotated_at) AS rotated,
       SUM(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL THEN 1 ELSE 0 END) AS live
  FROM refresh_tokens GROUP BY grant_id
HAVING SUM(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL THEN 1 ELSE 0 END) > 1"""


class Chain:
    def __init__(self, n, base, first):
        self.n = n
        self.http = Http(base, timeout=30)
        self.tokens = [first]           # every refresh token received, in order
        self.log = []                   # (phase, token index, t_start, t_end, outcome)
        self.in_doubt = None            # index of the token whose presentation got no answer
        self.after_first = None         # outcome of the first presentation after the restart
        self.finished = None            # "going", "lost at kill", "replayed", "refused"...

    def present(self, phase, index):
        """Presents tokens[index]; returns the outcome (status or error name)."""
        t = time.time()
        try:
            r = common.token(self.http, {"grant_type": "refresh_token", "refresh_token": self.tokens[index]})
        except Exception as e:
            self.log.append((phase, index, t, time.time(), f"error:{type(e).__name__}"))
            return f"error:{type(e).__name__}"
        self.log.append((phase, index, t, time.time(), r.status))
        if r.status == 200:
            new = r.json().get("refresh_token")
            if new:
                self.tokens.append(new)
        return r.status


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chains", type=int, default=48)
    p.add_argument("--before", type=float, default=8, help="seconds of load before SIGKILL")
    p.add_argument("--after", type=float, default=5, help="seconds of load after the restart")
    p.add_argument("--grace", type=int, default=0, help="refresh_token_reuse_grace_secs for munjigi")
    p.add_argument("--sqlite", action="store_true")
    p.add_argument("--sql", action="store_true", help="print the SQL of the checks")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if not (2 <= args.chains <= 128 and 1 <= args.before <= 120 and 1 <= args.after <= 120 and 0 <= args.grace <= 60):
        sys.exit("chains 2-128, before/after 1-120 s, grace 0-60")
    if args.sql:
        print(INVARIANT_SQL)
        print()
        print(LIVE_SQL)
        print()
        print(FAMILIES_SQL)
        return

    started_at = dt.datetime.now(dt.timezone.utc)
    backend = "sqlite" if args.sqlite else "postgres"
    env = {"MUNJIGI_REFRESH_TOKEN_REUSE_GRACE_SECS": str(args.grace)}
    problems = []
    with common.Setup("kill", backend=backend, keep=args.keep, env=env) as s:
        server = s.server
        server.start()
        log(f"munjigi {server.base} pid {server.pid} on {backend}, grace {args.grace} s; signing in {args.chains} chains")
        chains = [Chain(i, server.base, common.sign_in_tokens(server.base)["refresh_token"]) for i in range(args.chains)]
        go, restarted = threading.Event(), threading.Event()
        parked = threading.Semaphore(0)
        after_deadline = [0.0]

        def work(c):
            go.wait()
            while True:
                outcome = c.present("before", len(c.tokens) - 1)
                if outcome != 200:
                    if isinstance(outcome, int):
                        problems.append(f"chain {c.n}: {outcome} before the kill")
                    c.in_doubt = len(c.tokens) - 1 if isinstance(outcome, str) else None
                    break
            parked.release()
            restarted.wait()
            # 1. the newest token it holds
            c.after_first = c.present("after", len(c.tokens) - 1)
            if c.after_first != 200:
                c.finished = "refused after restart"
                parked.release()
                return
            while time.time() < after_deadline[0]:
                outcome = c.present("after", len(c.tokens) - 1)
                if outcome != 200:
                    problems.append(f"chain {c.n}: {outcome} after the restart")
                    c.finished = f"failed after restart ({outcome})"
                    parked.release()
                    return
            c.finished = "going"
            parked.release()

        threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in chains]
        for t in threads:
            t.start()
        go.set()
        t_go = time.time()
        time.sleep(args.before)
        requests_before = sum(len(c.log) for c in chains)
        t_kill = time.time()
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        log(f"SIGKILL after {t_kill - t_go:.1f} s and {requests_before} presentations")
        for _ in chains:
            if not parked.acquire(timeout=60):
                problems.append("a chain did not stop after the kill")
                break
        snapshot = {row[0]: row for row in common.query(server.database, TOKENS_SQL)}
        t_restart = time.time()
        ready = server.start()
        log(f"restarted in {ready * 1000:.0f} ms ({time.time() - t_kill:.1f} s after the kill)")
        after_deadline[0] = time.time() + args.after
        restarted.set()
        for _ in chains:
            parked.acquire(timeout=args.after + 60)
        # 2. replay: every even chain presents a spent token - its previous one, or with a grace
        # window its first (the oldest, most likely outside the window) - then its newest.
        replayed = []
        for c in chains[::2]:
            if len(c.tokens) < 2:
                continue
            index = 0 if args.grace else len(c.tokens) - 2
            t_replay = time.time()
            outcome = c.present("replay", index)
            newest = c.present("replay", len(c.tokens) - 1) if outcome != 200 else None
            replayed.append((c, index, t_replay, outcome, newest))
            c.finished = "replayed" if outcome != 200 else "replayed within grace"
        server.stop()
        log("stopped; checking the table")

        # --- checks ------------------------------------------------------------------------
        rows = {row[0]: row for row in common.query(server.database, TOKENS_SQL)}
        families = {row[0]: [int(x) for x in row[1:]] for row in common.query(server.database, FAMILIES_SQL)}
        # With a grace window an accepted retry adds a successor and revokes the unused one, so
        # only "at most one live token" applies.
        violating = common.query(server.database, (INVARIANT_SQL if args.grace == 0 else LIVE_SQL).split("\n", 1)[1])
        grant_of = {}
        for c in chains:
            first = rows.get(rt_hash(c.tokens[0]))
            if first is None:
                problems.append(f"chain {c.n}: its first token is not in the table")
                continue
            grant_of[c.n] = first[1]
        stats = {"families": len(chains), "tokens_in_table": len(rows), "received": 0, "accepted": 0,
                 "untouched": 0, "rotated_undelivered": 0, "not_in_doubt": 0, "double_accepted": 0,
                 "double_in_grace": 0, "lost": 0, "unknown": 0}
        for c in chains:
            g = grant_of.get(c.n)
            if g is None:
                continue
            hashes = [rt_hash(t) for t in c.tokens]
            stats["received"] += len(hashes) - 1
            known = set(hashes)
            # Every token received is in the table, in this family.
            for i, h in enumerate(hashes):
                row = rows.get(h)
                if row is None:
                    stats["lost"] += 1
                    problems.append(f"chain {c.n}: token {i} was answered but is not in the table")
                elif row[1] != g:
                    problems.append(f"chain {c.n}: token {i} is in another family")
            # Accepted presentations: each token at most once, or again within the grace window.
            accepted = {}
            for phase, i, t0, t1, outcome in c.log:
                if outcome == 200:
                    accepted.setdefault(i, []).append(t0)
            for i, times in accepted.items():
                stats["accepted"] += len(times)
                row = rows.get(hashes[i])
                if row is not None and int(row[2]) < 0:
                    problems.append(f"chain {c.n}: token {i} was accepted but is not rotated")
                if len(times) > 1:
                    spread = max(times) - min(times)
                    if args.grace and spread <= args.grace + 1:
                        stats["double_in_grace"] += len(times) - 1
                    else:
                        stats["double_accepted"] += len(times) - 1
                        problems.append(f"chain {c.n}: token {i} accepted {len(times)} times over {spread:.1f} s")
            # Tokens of the family the client never saw.
            unknown = [h for h, row in rows.items() if row[1] == g and h not in known]
            stats["unknown"] += len(unknown)
            # The token in doubt, as the snapshot has it.
            if c.in_doubt is None:
                stats["not_in_doubt"] += 1
                problems.append(f"chain {c.n}: no request in doubt at the kill")
                continue
            doubt = snapshot.get(hashes[c.in_doubt])
            unknown_at_kill = [h for h, row in snapshot.items() if row[1] == g and h not in known]
            if doubt is not None and int(doubt[2]) < 0 and not unknown_at_kill:
                stats["untouched"] += 1
                verdict, expected = "untouched", 200
            elif doubt is not None and int(doubt[2]) >= 0 and len(unknown_at_kill) == 1 \
                    and int(snapshot[unknown_at_kill[0]][2]) < 0:
                stats["rotated_undelivered"] += 1
                verdict, expected = "rotated", 400
                if args.grace:
                    # munjigi accepts it again while rotated_at >= now - grace (whole seconds).
                    first = next(e for e in c.log if e[0] == "after")
                    age = first[2] - int(doubt[2])
                    expected = 200 if age < args.grace - 1 else 400 if age > args.grace + 1 else None
            else:
                verdict, expected = "inconsistent", None
                problems.append(f"chain {c.n}: in-doubt token {c.in_doubt} is neither untouched nor rotated "
                                f"(snapshot row {doubt}, unknown tokens at kill {len(unknown_at_kill)})")
            first_after = c.after_first
            if expected is not None and first_after != expected:
                problems.append(f"chain {c.n}: {verdict} at the kill, so the first presentation after the restart "
                                f"should answer {expected}, got {first_after}")
            if len(unknown) > (1 if verdict == "rotated" else 0):
                problems.append(f"chain {c.n}: {len(unknown)} tokens in its family the client never received")
            # Every presentation the server accepted added exactly one token: the client's 200s,
            # plus the rotation whose answer was lost.
            fam = families.get(g)
            server_accepted = sum(len(v) for v in accepted.values()) + (1 if verdict == "rotated" else 0)
            if fam and fam[0] != 1 + server_accepted:
                problems.append(f"chain {c.n}: family has {fam[0]} tokens, expected 1 + {server_accepted}")
            # Final state of the family.
            live_hashes = [h for h, row in rows.items() if row[1] == g and int(row[2]) < 0 and int(row[3]) < 0]
            if c.finished == "going":
                # With a grace window too: the successor of a lost answer is revoked by the retry.
                if hashes[-1] not in live_hashes or len(live_hashes) > 1:
                    problems.append(f"chain {c.n}: still going, but its live tokens are {len(live_hashes)} "
                                    f"(newest held live: {hashes[-1] in live_hashes})")
            elif c.finished == "replayed within grace":
                if hashes[-1] not in live_hashes or len(live_hashes) > 1:
                    problems.append(f"chain {c.n}: replayed within grace, {len(live_hashes)} live tokens")
            elif live_hashes:
                problems.append(f"chain {c.n}: {c.finished}, yet {len(live_hashes)} live tokens")
        replay_refused = sum(1 for r in replayed if r[3] == 400)
        replay_newest_refused = sum(1 for r in replayed if r[4] == 400)
        for c, index, t_replay, o, n in replayed:
            row = rows.get(rt_hash(c.tokens[index]))
            age = t_replay - int(row[2]) if row and int(row[2]) >= 0 else None
            if o == 200 and (age is None or age > args.grace + 1):
                problems.append(f"chain {c.n}: its spent token {index} was accepted again "
                                f"({age if age is None else round(age, 1)} s after its rotation)")
            if o == 400 and n != 400:
                problems.append(f"chain {c.n}: after a replay its newest token answered {n}, not 400")
        for row in violating:
            problems.append(f"family {row[0][:8]}…: tokens {row[1]}, rotated {row[2]}, live {row[3]}")
        revoked_families = sum(1 for v in families.values() if v[3] == v[0])
        live_total = sum(v[2] for v in families.values())
        after_ok = sum(1 for c in chains for ph, _, _, _, o in c.log if ph == "after" and o == 200)
        going = sum(1 for c in chains if c.finished == "going")
        refused_after = sum(1 for c in chains if c.after_first != 200)
        doubt_errors = {}
        for c in chains:
            if c.in_doubt is not None:
                o = next(e[4] for e in reversed(c.log) if e[0] == "before")
                doubt_errors[o] = doubt_errors.get(o, 0) + 1

        out = [f"Kill {started_at:%Y-%m-%d %H:%M} UTC on {backend}, grace {args.grace} s: {args.chains} chains, "
               f"SIGKILL after {t_kill - t_go:.1f} s of refresh load ({requests_before} presentations), restart "
               f"{ready * 1000:.0f} ms after start ({t_restart - t_kill:.1f} s after the kill, snapshot in between), "
               f"{args.after:.0f} s more load; binary built {server.binary_mtime} (sha256 {server.binary_sha256}…).", "",
               "| figure | count |", "|---|---|"]
        figures = [
            ("refresh tokens received by the clients (200 answers)", stats["received"]),
            ("accepted presentations (client record)", stats["accepted"]),
            ("rows in refresh_tokens at the end", stats["tokens_in_table"]),
            ("families (chains)", len(chains)),
            ("chains in doubt at the kill (presentation without an answer)",
             f"{args.chains - stats['not_in_doubt']} ({', '.join(f'{k}: {v}' for k, v in sorted(doubt_errors.items()))})"),
            ("… untouched (the token in doubt still live in the snapshot)", stats["untouched"]),
            ("… rotated, answer lost (token rotated, one successor nobody received)", stats["rotated_undelivered"]),
            ("first presentation after restart accepted", sum(1 for c in chains if c.after_first == 200)),
            ("first presentation after restart refused (a reuse: family revoked)", refused_after),
            ("presentations accepted after the restart", after_ok),
            ("spent tokens replayed after the restart / refused", f"{len(replayed)} / {replay_refused}"),
            ("… newest token of a replayed family refused afterwards", replay_newest_refused),
            ("chains still going at the end (their newest token live)", going),
            ("live tokens nobody holds (e.g. a lost answer's successor left live)",
             max(0, live_total - going)),
            ("families fully revoked at the end", revoked_families),
            ("live tokens in the table at the end", live_total),
            ("tokens answered but missing from the table", stats["lost"]),
            ("tokens accepted twice outside the grace window", stats["double_accepted"]),
            ("tokens accepted twice within the grace window", stats["double_in_grace"]),
            ("tokens in the table no client received", stats["unknown"]),
            ("families breaking tokens = 1 + rotated or with >1 live token (SQL)" if args.grace == 0
             else "families with >1 live token (SQL; tokens = 1 + rotated does not apply with grace)",
             len(violating)),
        ]
        out += [f"| {k} | {v} |" for k, v in figures]
        out.append("")
        if problems:
            out.append(f"Problems ({len(problems)}):")
            out += [f"- {p_}" for p_ in problems[:50]]
        out.append(f"Result: {'PASS' if not problems else 'FAIL'}")
        print("\n".join(out))
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
