"""Shared pieces of the reliability scripts (standard library only, loopback only).

- `Munjigi`: one munjigi process from a snapshot of target/release/munjigi, on a fresh
  PostgreSQL database (127.0.0.1:5432, user postgres, trust auth; `MUNJIGI_TEST_PG_URL`
  overrides the admin URL) or on a fresh SQLite file, with a client and a user seeded through
  the CLI and the per-address and per-client rate limits off (the load is one address on
  purpose).
- `Http` / `Browser`: keep-alive HTTP/1.1 on http.client, a cookie jar, whole sign-ins
  (GET /authorize -> login form -> consent when shown -> code), token requests.
- `Tally`: statuses and latencies per scenario; `RssSampler`: VmRSS, CPU, threads and open
  files of a process from /proc every N seconds.
"""

import base64
import hashlib
import html.parser
import http.client
import http.cookies
import ipaddress
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILT = os.path.join(ROOT, "target", "release", "munjigi")
PG_ADMIN = os.environ.get("MUNJIGI_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct horse battery staple"
CLIENT_ID = "rel"
SECRET = "reliability-secret-0123456789abcdef"
REDIRECT = "http://127.0.0.1:9999/cb"
USER = "alice"
KEK = base64.b64encode(b"reliability KEK, not production!").decode()


def log(*parts, sep=" "):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True, sep=sep)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def pct(values, p):
    """The p-quantile (0..1) of values, nearest rank; 0 for none."""
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round((len(values) - 1) * p)))]


# --- PostgreSQL -------------------------------------------------------------------------

def pg_url(db):
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + db


def psql(url, sql):
    """Rows of a query as lists of strings (psql -At, tab-separated)."""
    out = subprocess.run(["psql", url, "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def fresh_pg_database(db):
    if not db.startswith("munjigi_rel_"):
        raise SystemExit("reliability databases are named munjigi_rel_*")
    psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    psql(PG_ADMIN, f'CREATE DATABASE "{db}"')
    return pg_url(db)


def drop_pg_database(db):
    if db.startswith("munjigi_rel_"):
        psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def query(database, sql):
    """Rows of `sql` on a PostgreSQL URL or a SQLite file path, as lists of strings."""
    if database.startswith("postgres"):
        return psql(database, sql)
    import sqlite3
    con = sqlite3.connect(database, timeout=30)
    try:
        return [["" if v is None else str(v) for v in row] for row in con.execute(sql)]
    finally:
        con.close()


# --- the server ---------------------------------------------------------------------------

class Munjigi:
    """A munjigi process with its own folder, port, database and log file."""

    def __init__(self, workdir, database_url=None, env=None, port=None):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        # A copy of the binary: the tree's binary may be rebuilt while a script runs, and a
        # restart must start the same program.
        self.binary = os.path.join(workdir, "munjigi")
        if not os.path.exists(self.binary):
            if not os.path.exists(BUILT):
                raise SystemExit(f"{BUILT} is missing: run `cargo build --release` first")
            shutil.copy2(BUILT, self.binary)
        self.binary_sha256 = hashlib.sha256(open(self.binary, "rb").read()).hexdigest()[:16]
        self.binary_mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(BUILT)))
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.sqlite_path = None if database_url else os.path.join(workdir, "data", "munjigi.db")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MUNJIGI_") and k != "DATABASE_URL"}
        self.env.update({
            "MUNJIGI_ISSUER": self.base, "MUNJIGI_BIND": f"127.0.0.1:{self.port}",
            "MUNJIGI_KEK": KEK, "MUNJIGI_DATA_DIR": os.path.join(workdir, "data"),
            "MUNJIGI_LOG_FORMAT": "plain", "RUST_LOG": "warn",
            "MUNJIGI_RATE_LIMIT_TOKEN_PER_MINUTE": "0", "MUNJIGI_RATE_LIMIT_AUTHORIZE_PER_MINUTE": "0",
            "MUNJIGI_RATE_LIMIT_FORMS_PER_MINUTE": "0", "MUNJIGI_RATE_LIMIT_CLIENT_PER_MINUTE": "0",
        })
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.env.update(env or {})
        self.log_path = os.path.join(workdir, "munjigi.log")
        self.process = None
        self.starts = 0

    @property
    def database(self):
        """What `query` takes: the PostgreSQL URL or the SQLite file."""
        return self.database_url or self.sqlite_path

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def cli(self, *args, stdin=None):
        out = subprocess.run([self.binary, *args], cwd=self.workdir, env=self.env, input=stdin, text=True,
                             capture_output=True, timeout=120)
        if out.returncode != 0:
            raise SystemExit(f"munjigi {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def seed(self):
        self.cli("migrate")
        self.cli("client", "create", "--name", "Reliability", "--id", CLIENT_ID, "--secret", SECRET,
                 "--redirect-uri", REDIRECT, "--grant-types", "authorization_code,refresh_token,client_credentials",
                 "--scopes", "openid profile email offline_access")
        self.cli("user", "create", "--username", USER, "--email", "alice@example.test", "--password-stdin",
                 stdin=PASSWORD + "\n")

    def start(self, ready_within=30):
        with open(self.log_path, "a") as logf:
            logf.write(f"--- start {self.starts + 1} at {time.strftime('%H:%M:%S')}\n")
        logf = open(self.log_path, "a")
        self.process = subprocess.Popen([self.binary, "serve"], cwd=self.workdir, env=self.env,
                                        stdout=logf, stderr=logf)
        logf.close()
        self.starts += 1
        return self.wait_ready(within=ready_within)

    def wait_ready(self, path="/readyz", within=30):
        started = time.monotonic()
        while time.monotonic() - started < within:
            if self.process.poll() is not None:
                raise SystemExit(f"munjigi exited with {self.process.returncode}; see {self.log_path}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", path)
                if c.getresponse().status == 200:
                    c.close()
                    return time.monotonic() - started
                c.close()
            except OSError:
                pass
            time.sleep(0.01)
        raise SystemExit(f"{self.base}{path} not ready within {within} s")

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, sig):
        self.process.send_signal(sig)

    def stop(self, timeout=40):
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines=20):
        try:
            return open(self.log_path).read().splitlines()[-lines:]
        except OSError:
            return []


class Setup:
    """Context: a working folder and a fresh database named munjigi_rel_<name> (or SQLite),
    a seeded Munjigi not yet started; everything is removed at the end unless --keep."""

    def __init__(self, name, backend="postgres", keep=False, database_url=None, env=None):
        self.name, self.backend, self.keep = name, backend, keep
        self.db = f"munjigi_rel_{name}"
        self.workdir = tempfile.mkdtemp(prefix=f"munjigi-rel-{name}-")
        self.direct_url = fresh_pg_database(self.db) if backend == "postgres" else None
        self.server = Munjigi(self.workdir, database_url or self.direct_url, env=env)
        self.server.seed()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.stop()
        if self.keep:
            log(f"kept {self.workdir} and database {self.db}")
            return
        if self.backend == "postgres":
            try:
                drop_pg_database(self.db)
            except subprocess.CalledProcessError as e:
                log("could not drop", self.db, e.stderr)
        shutil.rmtree(self.workdir, ignore_errors=True)


# --- HTTP ----------------------------------------------------------------------------------

class Response:
    __slots__ = ("status", "headers", "body", "seconds")

    def __init__(self, status, headers, body, seconds):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


class Http:
    """One keep-alive HTTP/1.1 connection to a loopback base URL, reopened after any error
    (and before reuse when it has been idle long enough that the server may close it)."""

    IDLE_REOPEN = 5.0

    def __init__(self, base, timeout=30, keep_alive=True):
        u = urllib.parse.urlsplit(base)
        if u.scheme != "http" or not loopback(u.hostname):
            raise SystemExit(f"only loopback targets: {base}")
        self.host, self.port = u.hostname, u.port or 80
        self.timeout, self.keep_alive = timeout, keep_alive
        self.conn, self.last_used = None, 0.0

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if not self.keep_alive:
            headers["Connection"] = "close"
        if self.conn and time.monotonic() - self.last_used > self.IDLE_REOPEN:
            self.close()
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        started = time.monotonic()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read()
        except BaseException:
            self.close()
            raise
        self.last_used = time.monotonic()
        hdrs = {}
        for k, v in r.getheaders():
            k = k.lower()
            hdrs[k] = hdrs[k] + "\n" + v if k in hdrs else v
        if r.will_close or not self.keep_alive:
            self.close()
        return Response(r.status, hdrs, data, self.last_used - started)


def basic_auth(client=CLIENT_ID, secret=SECRET):
    return "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode()


class FormParser(html.parser.HTMLParser):
    """The forms of a page: action, inputs (name, value, type) and submit buttons."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "inputs": [], "buttons": []})
        elif self.forms and tag == "input" and a.get("name"):
            self.forms[-1]["inputs"].append((a["name"], a.get("value") or "", a.get("type", "text")))
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value") or ""))


class FlowError(Exception):
    """A sign-in step answered something unexpected (status kept for the tally)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class Browser(Http):
    """An Http with a cookie jar (one host, so names are enough) and a sign-in."""

    def __init__(self, base, **kw):
        super().__init__(base, **kw)
        self.base = base
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        r = super().request(method, path, body, headers)
        for line in (r.header("set-cookie") or "").split("\n"):
            if not line:
                continue
            c = http.cookies.SimpleCookie()
            c.load(line)
            for name, morsel in c.items():
                if morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"]):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return r

    def sign_in(self, scope="openid profile email", prompt=None, on_step=None):
        """A whole sign-in as a browser does it; returns (code, verifier). `on_step(response)`
        sees every answer (for statuses per step)."""
        verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "scope": scope,
                  "state": "rel", "nonce": secrets.token_hex(8), "code_challenge": challenge,
                  "code_challenge_method": "S256"}
        if prompt:
            params["prompt"] = prompt
        r = self.request("GET", "/authorize?" + urllib.parse.urlencode(params))
        for _ in range(12):
            if on_step:
                on_step(r)
            if r.status in (302, 303):
                location = r.header("location") or ""
                if location.startswith(REDIRECT):
                    q = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
                    if "code" not in q:
                        raise FlowError(f"no code in {location}", r.status)
                    return q["code"][0], verifier
                target = urllib.parse.urljoin(self.base + "/", location)
                if not target.startswith(self.base + "/"):
                    raise FlowError(f"redirect away from the server: {location}", r.status)
                r = self.request("GET", target[len(self.base):])
                continue
            if r.status != 200:
                raise FlowError(f"{r.status} during sign-in: {r.body[:200]!r}", r.status)
            parser = FormParser()
            parser.feed(r.body.decode("utf-8", "replace"))
            login = next((f for f in parser.forms if any(n == "password" for n, _, _ in f["inputs"])), None)
            consent = next((f for f in parser.forms if ("decision", "allow") in f["buttons"]), None)
            form = login or consent
            if form is None:
                raise FlowError("page without a login or consent form", r.status)
            fields = {}
            for name, value, _ in form["inputs"]:
                fields[name] = USER if name == "username" else PASSWORD if name == "password" else value
            if form is consent:
                fields["decision"] = "allow"
            r = self.request("POST", form["action"] or "/", fields)
        raise FlowError("too many sign-in steps")


def token(http_, form):
    """POST /token with HTTP Basic as the seeded client."""
    return http_.request("POST", "/token", form, {"Authorization": basic_auth()})


def redeem(http_, code, verifier):
    return token(http_, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                         "code_verifier": verifier})


SETUP_SIGN_INS = threading.Lock()


def sign_in_tokens(base, scope="openid offline_access", prompt="consent", attempts=20):
    """A fresh browser's sign-in and code redemption, one at a time in this process (munjigi
    counts each sign-in of an account as a failure until its password is checked, so more
    than 5 at once for one account lock it for 30 s), retried on 503 (password hashing busy)
    and 429 (that lock); returns the token response."""
    for attempt in range(attempts):
        b = Browser(base)
        wait = 0.2 * (attempt + 1)
        try:
            with SETUP_SIGN_INS:
                code, verifier = b.sign_in(scope=scope, prompt=prompt)
                r = redeem(b, code, verifier)
            if r.status == 200:
                return r.json()
            if r.status != 503:
                raise SystemExit(f"redeeming a code: {r.status} {r.body[:200]!r}")
        except FlowError as e:
            if e.status not in (429, 503):
                raise
            if e.status == 429:
                wait = 5
        finally:
            b.close()
        time.sleep(wait)
    raise SystemExit("could not sign in")


def rt_hash(token_):
    return hashlib.sha256(token_.encode()).hexdigest()


# --- tallies and samples -------------------------------------------------------------------

class Tally:
    """Per scenario: statuses (or error class names), latencies of answered requests."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.latency = {}
        self.first = {}

    def add(self, scenario, outcome, seconds=None, detail=None):
        with self.lock:
            per = self.counts.setdefault(scenario, {})
            per[outcome] = per.get(outcome, 0) + 1
            if seconds is not None:
                self.latency.setdefault(scenario, []).append(seconds)
            if detail is not None:
                self.first.setdefault((scenario, outcome), detail)

    def total(self, scenario):
        return sum(self.counts.get(scenario, {}).values())

    def count_where(self, pred):
        with self.lock:
            return sum(n for per in self.counts.values() for k, n in per.items() if pred(k))

    def table(self, expected=None):
        expected = expected or {}
        lines = ["| scenario | requests | statuses | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|---|"]
        for scenario in sorted(self.counts):
            per = self.counts[scenario]
            lat = self.latency.get(scenario, [])
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(per.items(), key=lambda kv: str(kv[0])))
            lines.append(f"| {scenario} | {sum(per.values())} | {statuses} | {pct(lat, .5) * 1000:.1f} | "
                         f"{pct(lat, .99) * 1000:.1f} | {max(lat, default=0) * 1000:.1f} |")
        return "\n".join(lines)


def proc_sample(pid):
    """(rss KiB, cpu seconds, threads, open fds) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        rss = threads = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss, cpu, threads, fds
    except (OSError, IndexError, ValueError):
        return None


class RssSampler(threading.Thread):
    """Samples a process every `every` seconds: (seconds since start, rss KiB, cpu s, threads,
    fds, requests so far)."""

    def __init__(self, pid, every=10.0, requests=lambda: 0):
        super().__init__(daemon=True)
        self.pid, self.every, self.requests = pid, every, requests
        self.samples = []
        self.stop_event = threading.Event()
        self.started_at = time.monotonic()

    def run(self):
        while True:
            s = proc_sample(self.pid)
            if s:
                self.samples.append((time.monotonic() - self.started_at, *s, self.requests()))
            if self.stop_event.wait(self.every):
                break

    def stop(self):
        self.stop_event.set()
        self.join()


def median(values):
    return statistics.median(values) if values else 0.0
