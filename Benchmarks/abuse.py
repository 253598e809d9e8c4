#!/usr/bin/env python3
"""Tries the site as an attacker would, against a real server with its default limits, and prints what happened.

    python3 Benchmarks/abuse.py PATH/TO/microblog      (a release build; BCRYPT_COST stays at its default, 12)

Starts the server on a free loopback port in a new temporary folder (its own database and logs), then:
  1. 40 wrong passwords and the right one for one account, sent together: how many reached the password check,
     and whether the burst logged in;
  2. 5 wrong passwords for someone else's account, then the owner (from the browser it logged in with before) and
     an unrelated user from the same address log in;
  3. 32 threads registering accounts with one signed-out token for 20 s, while a real user logs in once a second:
     accounts made, answers by status, and the login's latency;
  4. 500 GETs with a valid remember_token cookie and no session cookie: session rows made;
  5. 3,000 GETs with `Cookie: remember_token=x`: WARNING lines in the log, and whether "Microblog startup" is still
     in logs/microblog.log*.
Only loopback traffic; every loop is bounded in count and time; the server is stopped at the end.
"""
import glob
import http.client
import os
import re
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class Browser:
    """One visitor: its own connection and cookie jar, no redirects followed."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}

    def request(self, method, path, fields=None, extra_cookie=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {}
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if extra_cookie:
            cookie = extra_cookie
        if cookie:
            headers["Cookie"] = cookie
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if val and "Max-Age=0" not in value:
                    self.cookies[key] = val
                else:
                    self.cookies.pop(key, None)
        connection.close()
        return response.status, text

    def token(self, path):
        _, text = self.request("GET", path)
        match = TOKEN.search(text)
        return match.group(1) or match.group(2)

    def register(self, name, password):
        token = self.token("/register")
        return self.request("POST", "/register", [("csrf_token", token), ("username", name), ("email", f"{name}@example.com"),
                                                  ("password", password), ("password2", password), ("submit", "Register")])[0]

    def login_fields(self, name, password, remember=False):
        fields = [("csrf_token", self.token("/login")), ("username", name), ("password", password)]
        if remember:
            fields.append(("remember_me", "y"))
        return fields + [("submit", "Sign In")]

    def login(self, name, password, remember=False):
        return self.request("POST", "/login", self.login_fields(name, password, remember))[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def together(count, prepare, send):
    """Prepares `count` requests, then sends them all at once (a barrier); returns their results."""
    prepared = [prepare(i) for i in range(count)]
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        barrier.wait()
        results[i] = send(prepared[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def tally(statuses):
    counts = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))


def main():
    binary = os.path.realpath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="abuse.")
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), SECRET_KEY=secrets.token_hex(32), LOG_DIR=f"{work}/logs")
    out = open(f"{work}/server.out", "w")
    server = subprocess.Popen([binary], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                Browser(port).request("GET", "/login")
                break
            except OSError:
                time.sleep(0.1)
        password = "right-password-1"

        # 1. A burst against one account.
        owner = Browser(port)
        owner.register("burst", password)
        statuses = together(41, lambda i: (Browser(port), i),
                            lambda p: p[0].request("POST", "/login", p[0].login_fields("burst", password if p[1] == 40 else f"wrong{p[1]}"))[0])
        checked = statuses.count(200) + statuses.count(302)
        print(f"1. 40 wrong + the right one together: {tally(statuses)}; reached the password check: {checked}; "
              f"the right one (sent last) logged in: {statuses[40] == 302}")

        # 2. Failures elsewhere, then the owner and a bystander.
        alice, bystander = Browser(port), Browser(port)
        alice.register("alice", password)
        bystander.register("bystander", password)
        alice.login("alice", password)
        alice.cookies.pop("session", None)
        attacker = Browser(port)
        wrong = [attacker.login("alice", f"guess{i}") for i in range(5)]
        print(f"2. 5 wrong for alice from elsewhere ({tally(wrong)}); then alice's own browser: {alice.login('alice', password)}, "
              f"a bystander from the same address: {bystander.login('bystander', password)}")

        # 3. A registration flood and a user's login latency.
        flood_token_browser = Browser(port)
        token = flood_token_browser.token("/register")
        cookies = dict(flood_token_browser.cookies)
        stop = time.time() + 20
        flood_statuses = []
        lock = threading.Lock()

        def flood(lane):
            n = 0
            while time.time() < stop:
                b = Browser(port)
                b.cookies = dict(cookies)
                name = f"flood{lane}x{n}"
                status, _ = b.request("POST", "/register", [("csrf_token", token), ("username", name), ("email", f"{name}@example.com"),
                                                            ("password", "flood-password"), ("password2", "flood-password")])
                with lock:
                    flood_statuses.append(status)
                n += 1

        lanes = [threading.Thread(target=flood, args=(i,)) for i in range(32)]
        for t in lanes:
            t.start()
        latencies, login_statuses = [], []
        user = Browser(port)
        while time.time() < stop - 1:
            fields = user.login_fields("bystander", password)
            started = time.time()
            login_statuses.append(user.request("POST", "/login", fields)[0])
            latencies.append(time.time() - started)
            user.cookies.pop("session", None)
            time.sleep(1)
        for t in lanes:
            t.join(120)
        db = sqlite3.connect(f"{work}/app.db")
        accounts = db.execute("SELECT COUNT(*) FROM user WHERE username LIKE 'flood%'").fetchone()[0]
        print(f"3. registration flood, 32 threads for 20 s: {accounts} accounts made; answers {tally(flood_statuses)}; "
              f"a user's {len(latencies)} logins meanwhile ({tally(login_statuses)}): median {statistics.median(latencies):.3f} s, "
              f"max {max(latencies):.3f} s")

        # 4. One remember cookie replayed without a session.
        # (alice's own browser: the account is still blocked for browsers without its device cookie.)
        alice.cookies.pop("session", None)
        status = alice.login("alice", password, remember=True)
        if "remember_token" not in alice.cookies:
            raise SystemExit(f"4. alice's login with remember me answered {status}, no remember cookie")
        cookie = "remember_token=" + alice.cookies["remember_token"]
        alices = "SELECT COUNT(*) FROM session WHERE user_id = (SELECT id FROM user WHERE username = 'alice')"
        before = db.execute(alices).fetchone()[0]
        replays = [Browser(port).request("GET", "/index", extra_cookie=cookie)[0] for _ in range(500)]
        after = db.execute(alices).fetchone()[0]
        print(f"4. 500 GETs with one remember cookie, no session: {tally(replays)}; alice's session rows {before} -> {after}")

        # 5. A scan with bad remember cookies.
        scan = [Browser(port).request("GET", "/index", extra_cookie=f"remember_token=x{i}")[0] for i in range(3000)]
        server.terminate()
        server.wait(30)
        lines = []
        for path in glob.glob(f"{work}/logs/microblog.log*"):
            with open(path, encoding="utf-8", errors="replace") as f:
                lines += f.read().splitlines()
        warnings = sum(1 for line in lines if " WARNING: " in line)
        startup = any("Microblog startup" in line for line in lines)
        files = len(glob.glob(f"{work}/logs/microblog.log*"))
        print(f"5. 3,000 GETs with a bad remember cookie: {tally(scan)}; WARNING lines {warnings}; log files {files}; "
              f"'Microblog startup' still there: {startup}")
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)
        print(f"(server output and logs in {work})")


if __name__ == "__main__":
    main()
