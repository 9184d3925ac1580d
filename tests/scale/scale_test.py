#!/usr/bin/env python3
"""Scale-out on loopback (issue #16): HAProxy (Debian's package, `option httpchk GET /readyz`) in
front of two instances of the inventory (examples/product) on one PostgreSQL server, which
tests/pg/with-postgres starts. Every wait is bounded; only 127.0.0.1 is used.

    scale_test.py INVENTORY_BINARY MIGRATIONS_DIR

- a session made on one instance works on the other, and a logout on one ends it on both;
- a load of mixed reads and writes runs while one instance is SIGKILLed: every write that got a
  2xx is in the database afterwards, the other instance carries on, HAProxy marks the dead one
  down; the killed instance restarts and HAProxy sends it requests again;
- a rolling restart of both (SIGTERM with a drain delay, start again) under load drops nothing;
- a binary upgrade (SIGUSR2) of both under load drops nothing, and readiness never fails.

Uses the harness of inventory_test.py (Database, Server.login and Server.browse).
Exits 77 (skipped) without PostgreSQL (with-postgres says so) or HAProxy.
"""
import csv
import http.client
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import inventory_test as inv

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy")
                                      else None)
SECRET = "scale-test-secret-key-0123456789abcdef0123456789"
CHECK_MS = 200      # HAProxy's check interval; a server is down after 2 failed checks
DRAIN_MS = 1500     # each instance serves this long after SIGTERM, its /readyz failing
WAIT = 20           # seconds: the bound of every wait for a state


def free_port():
    """A port below the ephemeral range that binds now (as with-postgres picks its own)."""
    start = random.randrange(1000)
    for i in range(1000):
        p = 27000 + (start + i) % 1000
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free port in 27000-27999")


def running(pid):
    """True while the process runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(cond, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s: {what}")


class Instance:
    """One `inventory serve` on a fixed port (HAProxy's configuration names it), restartable.
    After a binary upgrade the process serving is not this one's child: pid follows it."""

    def __init__(self, db, name, port):
        self.db, self.name, self.port = db, name, port
        self.lines = []
        self.mark = 0  # where the current process's records begin in lines
        self.start()

    def start(self):
        self.mark = len(self.lines)
        self.proc = subprocess.Popen(
            [inv.APP, "serve", "--port", str(self.port), "--workers", "1",
             "--drain-delay", str(DRAIN_MS), "--shutdown-timeout", "5000"],
            env=dict(self.db.env(), CADRE_SECRET_KEY=SECRET), cwd=self.db.dir,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()
        wait_until(lambda: self.logged("listening on http://") or self.proc.poll() is not None,
                   f"{self.name} listening")
        assert self.proc.poll() is None, f"{self.name} did not start:\n" + self.log()

    def _pump(self, proc):
        with proc.stderr:
            for line in proc.stderr:
                self.lines.append(line)

    def log(self):
        return "".join(self.lines)

    def logged(self, pattern):
        """The first match of pattern in the records since the mark, or None."""
        for line in self.lines[self.mark:]:
            m = re.search(pattern, line)
            if m:
                return m
        return None

    def wait_exit(self, pid):
        if pid == self.proc.pid:
            self.proc.wait(WAIT)
        else:  # the process an upgrade started: not this test's child
            wait_until(lambda: not running(pid), f"{self.name} (pid {pid}) exiting")

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)
        self.wait_exit(self.pid)

    def terminate(self):
        """SIGTERM, and the bounded wait for the process to end."""
        os.kill(self.pid, signal.SIGTERM)
        self.wait_exit(self.pid)

    def upgrade(self):
        """SIGUSR2: the new process takes the sockets; the old one exits."""
        self.mark = len(self.lines)
        old = self.pid
        os.kill(old, signal.SIGUSR2)
        wait_until(lambda: self.logged(r"upgraded: process (\d+) serves now"),
                   f"{self.name}'s upgrade")
        self.pid = int(self.logged(r"upgraded: process (\d+) serves now").group(1))
        self.wait_exit(old)

    def stop(self):
        if running(self.pid):
            try:
                self.terminate()
            except (AssertionError, subprocess.TimeoutExpired):
                os.kill(self.pid, signal.SIGKILL)


class HAProxy:
    """haproxy in the foreground, round-robin over the instances, checking GET /readyz."""

    def __init__(self, directory, servers):
        self.port = free_port()
        self.sock = os.path.join(directory, "haproxy.sock")
        cfg = os.path.join(directory, "haproxy.cfg")
        lines = [
            "global",
            "    maxconn 2000",
            f"    stats socket {self.sock} level admin",
            "defaults",
            "    mode http",
            "    timeout connect 1s",
            "    timeout client 30s",
            "    timeout server 30s",
            "    timeout check 2s",  # else inter (200 ms): a slow machine would fail checks
            "    retries 3",
            "    option redispatch",
            "frontend web",
            f"    bind 127.0.0.1:{self.port}",
            "    default_backend app",
            "backend app",
            "    balance roundrobin",
            "    option httpchk GET /readyz",
            "    http-check expect status 200",
            f"    default-server inter {CHECK_MS}ms fall 2 rise 2",
        ] + [f"    server {s.name} 127.0.0.1:{s.port} check" for s in servers]
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.errlog = open(os.path.join(directory, "haproxy.log"), "w+")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", cfg], stdin=subprocess.DEVNULL,
                                     stdout=self.errlog, stderr=self.errlog)
        wait_until(lambda: os.path.exists(self.sock) or self.proc.poll() is not None,
                   "haproxy's stats socket")
        assert self.proc.poll() is None, "haproxy did not start:\n" + self.log()

    def log(self):
        self.errlog.seek(0)
        return self.errlog.read()

    def stats(self):
        """{server name: its row of `show stat`} for the backend's servers."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.sock)
            s.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        text = data.decode().lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(io.StringIO(text))
                if row.get("pxname") == "app" and row["svname"] not in ("FRONTEND", "BACKEND")}

    def status(self, name):
        return self.stats()[name]["status"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        self.errlog.close()


class Load:
    """Threads sending reads and writes through HAProxy on keep-alive connections. Each write
    creates a supplier with a name of its own; the names whose POST got a 2xx are kept."""

    def __init__(self, port, token, threads=6):
        self.port, self.token = port, token
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.written = set()
        self.ok = []            # (time, status) of every 2xx
        self.failures = []      # (time, description) of everything else
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]
        for t in self.threads:
            t.start()

    def run(self, k):
        conn = None
        deadline = time.monotonic() + 120
        n = 0
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            n += 1
            write = n % 2 == 0
            name = f"s{k}-{n}-{random.getrandbits(32):08x}"
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                headers = {"Authorization": "Bearer " + self.token}
                if write:
                    headers["Content-Type"] = "application/json"
                    conn.request("POST", "/api/suppliers", body=json.dumps({"name": name}),
                                 headers=headers)
                else:
                    conn.request("GET", "/api/suppliers?limit=5", headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                now = time.monotonic()
                with self.lock:
                    if 200 <= resp.status < 300:
                        self.ok.append((now, resp.status))
                        if write:
                            self.written.add(name)
                    else:
                        self.failures.append((now, f"{resp.status} {body[:200]!r}"))
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.failures.append((time.monotonic(), f"{type(e).__name__}: {e}"))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def served(self, since=0.0):
        with self.lock:
            return sum(1 for t, _ in self.ok if t >= since)

    def wait_served(self, n, since=0.0):
        wait_until(lambda: self.served(since) >= n, f"{n} requests served")

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(WAIT)


@unittest.skipUnless(inv.PG and HAPROXY, "needs PostgreSQL (with-postgres) and HAProxy")
class ScaleOutTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cadre-scale-")
        cls.db = inv.Database()
        rc, out, err = cls.db.run("migrate")
        assert rc == 0, out + err
        cls.db.user("ops", "ops pass 12", "super")
        cls.token = cls.db.token("ops")
        cls.a = Instance(cls.db, "a", free_port())
        cls.b = Instance(cls.db, "b", free_port())
        cls.lb = HAProxy(cls.tmp, (cls.a, cls.b))
        cls.wait_up("a")
        cls.wait_up("b")

    @classmethod
    def tearDownClass(cls):
        cls.lb.stop()
        cls.a.stop()
        cls.b.stop()
        cls.db.drop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def wait_up(cls, name):
        wait_until(lambda: cls.lb.status(name) == "UP", f"HAProxy marking {name} UP")

    def persisted(self, load):
        """Every write that got a 2xx is in the database."""
        names = {r[0] for r in self.db.query("SELECT name FROM supplier")}
        lost = load.written - names
        self.assertEqual(lost, set(), f"{len(lost)} acknowledged writes missing")
        self.assertGreater(len(load.written), 0)

    def test_1_session_across_instances(self):
        cookie, csrf = inv.Server.login(self.a, "ops", "ops pass 12")
        for inst in (self.b, self.a):
            status, _, page = inv.Server.browse(inst, "GET", "/admin/", cookie)
            self.assertEqual(status, 200, inst.name)
            self.assertIn("ops", page)
        # out on b: the session is gone on a too
        status, _, _ = inv.Server.browse(self.b, "POST", "/accounts/logout/", cookie, csrf=csrf,
                                         form={"csrfmiddlewaretoken": csrf})
        self.assertEqual(status, 200)
        status, headers, _ = inv.Server.browse(self.a, "GET", "/admin/", cookie)
        self.assertEqual(status, 302)
        self.assertIn("/accounts/login/", headers["Location"])

    def test_2_one_instance_killed_under_load(self):
        load = Load(self.lb.port, self.token)
        try:
            load.wait_served(200)
            stot_a = int(self.lb.stats()["a"]["stot"])
            self.assertGreater(stot_a, 0)  # both took requests
            self.a.kill()
            killed = time.monotonic()
            wait_until(lambda: self.lb.status("a").startswith("DOWN"), "HAProxy marking a DOWN")
            load.wait_served(300, since=killed)  # b carries on alone
            self.a.start()
            self.wait_up("a")
            back = int(self.lb.stats()["a"]["stot"])
            wait_until(lambda: int(self.lb.stats()["a"]["stot"]) > back + 20,
                       "HAProxy sending a requests again")
        finally:
            load.stop()
        self.persisted(load)
        # what failed did so around the kill only
        late = [f for t, f in load.failures if t > killed + 5]
        self.assertEqual(late, [], "failures long after the kill")

    def test_3_rolling_restart_drops_nothing(self):
        load = Load(self.lb.port, self.token)
        try:
            load.wait_served(200)
            for inst in (self.a, self.b):
                t = time.monotonic()
                inst.terminate()
                # readiness failed first: HAProxy took it out during the drain delay
                self.assertTrue(self.lb.status(inst.name).startswith("DOWN"),
                                self.lb.status(inst.name))
                self.assertGreaterEqual(time.monotonic() - t, DRAIN_MS / 1000)
                inst.start()
                self.wait_up(inst.name)
                load.wait_served(100, since=time.monotonic())
        finally:
            load.stop()
        self.assertEqual(load.failures, [], "requests failed during the rolling restart")
        self.persisted(load)

    def test_4_binary_upgrade_drops_nothing(self):
        load = Load(self.lb.port, self.token)
        try:
            load.wait_served(200)
            checks_down = {n: int(r["chkdown"]) for n, r in self.lb.stats().items()}
            for inst in (self.a, self.b):
                old = inst.pid
                inst.upgrade()
                self.assertNotEqual(inst.pid, old)
                load.wait_served(100, since=time.monotonic())
            stats = self.lb.stats()
            why = {n: (r["status"], r["check_status"], r["check_code"], r["last_chk"])
                   for n, r in stats.items()}
            after = {n: int(r["chkdown"]) for n, r in stats.items()}
            self.assertEqual(after, checks_down, f"an upgrade failed a readiness check: {why}")
            for name in ("a", "b"):
                self.assertEqual(stats[name]["status"], "UP", f"a check failed: {why}")
        finally:
            load.stop()
        self.assertEqual(load.failures, [], "requests failed during the upgrades")
        self.persisted(load)

    def test_5_upgrade_refused_while_migrations_are_missing(self):
        # a build whose migration the database lacks (forgotten `migrate`): the new process
        # refuses to take over and the running one serves on; on its own port, outside HAProxy
        c = Instance(self.db, "c", free_port())
        self.addCleanup(c.stop)
        last = self.db.query("SELECT module, name FROM cadre_migrations ORDER BY applied DESC, "
                             "name DESC LIMIT 1")[0]
        hide = f"UPDATE cadre_migrations SET name = name || '_elsewhere' WHERE module = " \
               f"'{last[0]}' AND name = '{last[1]}'"
        self.db.query(hide)
        try:
            c.mark = len(c.lines)
            os.kill(c.pid, signal.SIGUSR2)
            wait_until(lambda: c.logged("upgrade failed"), "the upgrade failing")
            self.assertTrue(c.logged(r"not taking over from the running process: this "
                                     r"postgresql database lacks 1 migration of this build: run "
                                     r"the app's migrate command"), c.log())
        finally:
            self.db.query(f"UPDATE cadre_migrations SET name = '{last[1]}' WHERE module = "
                          f"'{last[0]}' AND name = '{last[1]}_elsewhere'")
        self.assertTrue(c.logged("this one serves on"), c.log())
        self.assertTrue(running(c.pid))
        status, _, _ = inv.Server.browse(c, "GET", "/readyz", "")
        self.assertEqual(status, 200)
        # migrated, the same upgrade goes through
        old = c.pid
        c.upgrade()
        self.assertNotEqual(c.pid, old)


if __name__ == "__main__":
    unittest.main(verbosity=2)
