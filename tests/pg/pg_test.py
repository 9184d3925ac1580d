#!/usr/bin/env python3
"""PostgreSQL behaviour over real sockets, run by tests/pg/with-postgres (a throwaway server):
a slow query suspends only its request; the server stopping gives 503s, and the app recovers when
it is back. Every wait is bounded.    pg_test.py PGAPP_BINARY"""
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest

APP = sys.argv.pop(1) if len(sys.argv) > 1 else None


def get(port, path, timeout=10):
    t = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    body = data.split(b"\r\n\r\n", 1)[1]
    return status, body, time.monotonic() - t


def metrics(port):
    """GET /metrics → {series: value}."""
    status, body, _ = get(port, "/metrics")
    assert status == 200, (status, body)
    return {k: float(v) for k, v in (l.rsplit(" ", 1) for l in body.decode().splitlines()
                                     if l and not l.startswith("#"))}


def pg_ctl(action):
    cmd = os.environ.get("CADRE_TEST_PG_AS", "").split() + [
        os.path.join(os.environ["CADRE_TEST_PG_BIN"], "pg_ctl"), "-D", os.environ["CADRE_TEST_PG_DATA"],
        "-w", "-t", "30", "-m", "fast", action]
    if action == "start":
        port = os.environ["CADRE_TEST_PG_PORT"]
        cmd[-1:-1] = ["-l", os.environ["CADRE_TEST_PG_DATA"] + "/../log2", "-o",
                      f"-c listen_addresses=127.0.0.1 -p {port} -k {os.path.dirname(os.environ['CADRE_TEST_PG_DATA'])}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


class PgTest(unittest.TestCase):
    def setUp(self):
        env = dict(os.environ, CADRE_DATABASE_URL=os.environ["CADRE_TEST_PG"])
        self.proc = subprocess.Popen([APP, "serve", "--port", "0", "--workers", "1"], env=env,
                                     stderr=subprocess.PIPE, text=True)
        self.port = None
        deadline = time.monotonic() + 10
        while self.port is None and time.monotonic() < deadline:
            m = re.search(r"listening on http://[^:]+:(\d+)", self.proc.stderr.readline())
            if m:
                self.port = int(m.group(1))
        self.assertIsNotNone(self.port, "the app did not start")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def tearDown(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def test_slow_query_does_not_block_the_worker(self):
        self.assertEqual(get(self.port, "/fast")[:2], (200, b"1"))  # connection warmed up
        result = {}
        t = threading.Thread(target=lambda: result.update(slow=get(self.port, "/slow")))
        t.start()
        time.sleep(0.2)  # the slow query is in flight on the only worker
        status, body, took = get(self.port, "/fast")
        self.assertEqual((status, body), (200, b"1"))
        self.assertLess(took, 0.5, "a fast request waited for the slow query")
        t.join(timeout=10)
        status, body, took = result["slow"]
        self.assertEqual((status, body), (200, b"7"))
        self.assertGreaterEqual(took, 0.95)

    def test_requests_beyond_the_pool_queue_for_a_connection(self):
        # 20 naps of 0.3 s at once on one worker with 8 connections: three waves, each request
        # answered, none failing for want of a connection and none waiting much past its wave.
        self.assertEqual(get(self.port, "/fast")[:2], (200, b"1"))
        results = []
        lock = threading.Lock()

        def nap():
            r = get(self.port, "/nap", timeout=20)
            with lock:
                results.append(r)
        threads = [threading.Thread(target=nap) for _ in range(20)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        # /metrics meanwhile (on the same worker, not needing the database): while requests
        # wait, every connection of the pool is in use
        seen = None
        deadline = time.monotonic() + 2
        while seen is None and time.monotonic() < deadline:
            m = metrics(self.port)
            if m["db_pool_requests_waiting"] > 0:
                seen = m
        self.assertIsNotNone(seen, "no request was seen waiting for a connection")
        self.assertEqual(seen["db_pool_connections_in_use"], 8, seen)
        self.assertEqual(seen["db_pool_connections_open"], 8, seen)
        for t in threads:
            t.join(timeout=20)
        took = time.monotonic() - t0
        self.assertEqual(len(results), 20)
        self.assertEqual(sorted((s, b) for s, b, _ in results), [(200, b"3")] * 20)
        self.assertGreaterEqual(took, 0.85)  # 8 connections: at least three rounds of 0.3 s
        self.assertLess(took, 5)
        m = metrics(self.port)
        self.assertEqual((m["db_pool_connections_in_use"], m["db_pool_requests_waiting"]), (0, 0))
        self.assertEqual(m["db_pool_connections_open"], 8)
        self.assertGreaterEqual(m["db_pool_waits_total"], seen["db_pool_requests_waiting"])

    def test_server_restart_gives_503_then_recovers(self):
        self.assertEqual(get(self.port, "/fast")[:2], (200, b"1"))
        pg_ctl("stop")
        try:
            status, body, _ = get(self.port, "/fast")
            self.assertEqual(status, 503, body)
            self.assertEqual(body, b'{"detail":"Service Unavailable: the database cannot be reached"}')
        finally:
            pg_ctl("start")
        # the connection that broke is replaced: within a few tries the service is back
        for _ in range(20):
            status, body, _ = get(self.port, "/fast")
            if status == 200:
                break
            time.sleep(0.25)
        self.assertEqual((status, body), (200, b"1"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
