#!/usr/bin/env python3
"""The inventory example on SQLite when its database fails under it (issue #10), over real sockets
(127.0.0.1 only): another process holding the write lock, the file removed or replaced, a full
disk, a read-only or damaged file. Every wait is bounded.

    hardening_test.py INVENTORY_BINARY MIGRATIONS_DIR

Uses the harness of inventory_test.py (Database, Server).
"""
import http.client
import json
import os
import shutil
import sqlite3
import sys
import threading
import time
import unittest

import inventory_test as inv
from sandbox import FILL, tmpfs_prefix

SQLITE_ONLY = bool(os.environ.get("CADRE_TEST_PG"))


def request(port, method, path, body=None, timeout=15, token=None):
    """→ (status, headers dict (lower-case names), parsed JSON body or None); token: an API
    token, sent as Bearer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        is_json = hdrs.get("content-type", "").startswith("application/json")
        return resp.status, hdrs, json.loads(raw) if raw and is_json else raw
    finally:
        conn.close()


class Base(unittest.TestCase):
    def setUp(self):
        self.db = inv.Database()
        self.addCleanup(self.db.drop)
        self.path = os.path.join(self.db.dir, "inv.db")

    token = None

    def migrate(self):
        """Migrates, and makes a superuser's API token that request sends."""
        rc, out, err = self.db.run("migrate")
        self.assertEqual(rc, 0, out + err)
        self.token = self.db.admin_token()

    def request(self, *args, **kwargs):
        return request(*args, token=self.token, **kwargs)

    def serve(self):
        srv = inv.Server(self.db)
        self.addCleanup(srv.stop)
        return srv

    def assert_logged(self, srv, words, timeout=5):
        """The server logged words: the record is written before the answer, but the thread that
        reads the server's stderr may not have seen it yet, so it is waited for (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(words in l for l in list(srv.lines)):
                return
            time.sleep(0.02)
        self.fail("no log record with %r:\n%s" % (words, "".join(srv.lines)))

    def assert_503(self, got, words, srv=None):
        status, hdrs, body = got
        self.assertEqual(status, 503, (got, "".join(srv.lines) if srv else ""))
        self.assertEqual(list(body), ["detail"], body)
        self.assertIn(words, body["detail"])
        self.assertNotIn(self.db.dir, body["detail"])  # no path leaks to the client


class LockedDatabaseTest(Base):
    """Another process holds SQLite's write lock: only the requests that write wait (as
    coroutines, not the worker thread), the rest answer meanwhile; past the busy timeout a write
    gets 503 with Retry-After, and nothing is lost once the lock is released."""

    def hold_lock(self):
        other = sqlite3.connect(self.path, isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")
        self.addCleanup(other.close)
        return other

    def test_writes_wait_without_stalling_the_worker(self):
        self.migrate()
        srv = self.serve()  # one worker: a stalled thread would stall everything
        # the token's first use records it (a write, at most once a minute): before the lock
        self.assertEqual(self.request(srv.port, "GET", "/api/suppliers")[0], 200)
        other = self.hold_lock()
        results = {}

        def write(name):
            results[name] = self.request(srv.port, "POST", "/api/suppliers", {"name": name})

        writers = [threading.Thread(target=write, args=("w%d" % i,)) for i in range(3)]
        for t in writers:
            t.start()
        time.sleep(0.2)  # let the writes reach the lock (they are still waiting below)
        # /metrics says so (one worker: each write is asleep between its tries when it runs)
        status, _, text = request(srv.port, "GET", "/metrics")
        self.assertEqual(status, 200)
        m = dict(l.rsplit(" ", 1) for l in text.decode().splitlines() if l and l[0] != "#")
        self.assertEqual(m["db_pool_requests_waiting"], "3", text)
        self.assertEqual(m["db_pool_connections_in_use"], "1")
        self.assertGreaterEqual(float(m["db_pool_waits_total"]), 3)
        # routes that do not write answer while the writes wait
        for path in ("/openapi.json", "/api/suppliers", "/accounts/login/"):
            status, _, _ = self.request(srv.port, "GET", path)
            self.assertEqual(status, 200, path)
            self.assertTrue(all(t.is_alive() for t in writers),
                            "a write finished while the lock was held: %r" % results)
        other.execute("COMMIT")
        for t in writers:
            t.join(15)
        self.assertEqual(sorted(r[0] for r in results.values()), [201, 201, 201], results)
        status, _, rows = self.request(srv.port, "GET", "/api/suppliers")
        self.assertEqual(sorted(r["name"] for r in rows["results"]), ["w0", "w1", "w2"])

    def test_a_lock_held_too_long_answers_503(self):
        self.migrate()
        srv = self.serve()
        other = self.hold_lock()
        got = self.request(srv.port, "POST", "/api/suppliers", {"name": "late"})
        self.assert_503(got, "busy")
        self.assertEqual(got[1].get("retry-after"), "1")
        other.execute("ROLLBACK")
        status, _, _ = self.request(srv.port, "POST", "/api/suppliers", {"name": "late"})
        self.assertEqual(status, 201)
        self.assert_logged(srv, "locked")


class FileUnderTheServerTest(Base):
    """The database file removed or replaced while the server runs: writes are refused (503),
    never answered 201 into a file nothing will open again."""

    def test_removed(self):
        self.migrate()
        srv = self.serve()
        self.assertEqual(self.request(srv.port, "POST", "/api/suppliers", {"name": "kept"})[0], 201)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)
        self.assert_503(self.request(srv.port, "POST", "/api/suppliers", {"name": "lost"}),
                        "removed or replaced")
        self.assert_logged(srv, "removed")

    def test_directory_removed(self):
        data = os.path.join(self.db.dir, "data")
        os.mkdir(data)
        self.path = os.path.join(data, "inv.db")
        self.db.url = "sqlite://" + self.path
        self.migrate()
        srv = self.serve()
        self.assertEqual(self.request(srv.port, "POST", "/api/suppliers", {"name": "kept"})[0], 201)
        shutil.rmtree(data)
        self.assert_503(self.request(srv.port, "POST", "/api/suppliers", {"name": "lost"}),
                        "removed or replaced")

    def test_replaced(self):
        self.migrate()
        srv = self.serve()
        self.assertEqual(self.request(srv.port, "POST", "/api/suppliers", {"name": "a"})[0], 201)
        copy = self.path + ".restore"
        shutil.copy(self.path, copy)
        os.replace(copy, self.path)  # e.g. a backup restored under the running server
        self.assert_503(self.request(srv.port, "PUT", "/api/suppliers/1", {"name": "b"}),
                        "removed or replaced")


class StorageTroubleTest(Base):
    """A full disk, a read-only file and a damaged file each answer 503 with a reason an operator
    can tell apart (and no path); the log has the full story."""

    def serve_in_tmpfs(self, before):
        """The server on a database migrated into a 2 MB tmpfs, after the shell commands before."""
        mnt = os.path.join(self.db.dir, "mnt")
        os.mkdir(mnt)
        self.db.url = "sqlite://%s/inv.db" % mnt
        tokfile = os.path.join(self.db.dir, "token")
        migrate = ('"{0}" migrate >/dev/null && CADRE_SUPERUSER_USERNAME=ops '
                   'CADRE_SUPERUSER_PASSWORD="ops pass 12" "{0}" createsuperuser --noinput '
                   '>/dev/null && "{0}" createtoken ops t >"{1}"').format(inv.APP, tokfile)
        prefix = tmpfs_prefix(mnt, "2m", migrate + " && " + before)
        if prefix is None:
            self.skipTest("no mount namespace for a small tmpfs on this machine")
        srv = inv.Server(self.db, prefix)
        self.addCleanup(srv.stop)
        with open(tokfile) as f:
            self.token = f.readline().strip()
        return srv, mnt

    def test_disk_full(self):
        srv, mnt = self.serve_in_tmpfs(FILL)
        got = self.request(srv.port, "POST", "/api/suppliers", {"name": "x" * 200})
        for i in range(50):  # a few pages may still fit: bounded
            if got[0] != 201:
                break
            got = self.request(srv.port, "POST", "/api/suppliers", {"name": "%d" % i + "x" * 190})
        self.assert_503(got, "disk is full")
        self.assert_logged(srv, "disk full")
        # space again (the file is reached through the server's own mount namespace): writes work
        os.remove("/proc/%d/root%s/fill" % (srv.proc.pid, mnt))
        self.assertEqual(self.request(srv.port, "POST", "/api/suppliers", {"name": "after"})[0], 201)

    def test_read_only(self):
        # a supplier written first, then the storage turned read-only: still served, read-only
        insert = ('python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); '
                  'c.execute(\\"insert into supplier (name) values (\'kept\')\\"); c.commit()" '
                  '"$D/inv.db"')
        srv, _ = self.serve_in_tmpfs(insert + ' && mount -o remount,ro "$D"')
        self.assert_503(self.request(srv.port, "POST", "/api/suppliers", {"name": "ro"}), "read-only",
                        srv)
        status, _, body = self.request(srv.port, "GET", "/api/suppliers")
        self.assertEqual((status, [r["name"] for r in body["results"]]), (200, ["kept"]), body)
        self.assert_logged(srv, "read-only storage")

    def test_damaged(self):
        self.migrate()
        with open(self.path, "r+b") as f:
            f.write(b"this is not a database file at all" * 4)
        srv = self.serve()
        self.assert_503(self.request(srv.port, "GET", "/api/suppliers"), "damaged")
        self.assert_503(self.request(srv.port, "POST", "/api/suppliers", {"name": "x"}), "damaged")


if __name__ == "__main__":
    inv.APP = inv.APP or os.path.abspath(sys.argv.pop(1))
    if SQLITE_ONLY:
        print("SQLite only: skipped under CADRE_TEST_PG")
        sys.exit(77)
    unittest.main(verbosity=2)
