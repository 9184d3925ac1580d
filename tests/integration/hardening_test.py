#!/usr/bin/env python3
"""The server under a failing environment or a client that half-closes, over real sockets
(127.0.0.1 only): faults an independent attack run found (issue #10). Every wait is bounded.

Usage: hardening_test.py PATH/TO/testapp [unittest options]

Uses the harness of http_test.py (Server, Conn, req).
"""

import os
import resource
import signal
import socket
import tempfile
import sys
import threading
import time
import unittest

import http_test as h
from http_test import Conn, req
from sandbox import FILL, tmpfs_prefix


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc/PID/stat."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def open_fds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


class Base(unittest.TestCase):
    def start(self, *args, workers=1, preexec_fn=None):
        srv = h.Server(list(args), workers, preexec_fn=preexec_fn)
        self.addCleanup(srv.stop)
        return srv

    def assert_logged(self, srv, words, timeout=5):
        """The server logged words. The thread that reads its stderr may lag behind the answer
        (or the exit): waited for, bounded."""
        deadline = time.monotonic() + timeout
        while words not in srv.stderr() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertIn(words, srv.stderr())

    def conn(self, srv, timeout=h.IO_TIMEOUT):
        c = Conn(srv.port, timeout=timeout)
        self.addCleanup(c.close)
        return c


class DescriptorExhaustionTest(Base):
    """With more clients than descriptors, the server pauses accepting (no busy loop, one log
    record per episode), answers waiting clients 503 through a reserved descriptor, keeps serving
    the connections it has, and recovers by itself when clients leave."""

    LIMIT = 40

    def test_out_of_descriptors(self):
        limit = self.LIMIT

        def low_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        srv = self.start('--keepalive-timeout', '60000', '--header-timeout', '60000',
                         preexec_fn=low_limit)
        pid = srv.proc.pid
        spare = limit - open_fds(pid)
        self.assertGreater(spare, 5)
        # Fill every descriptor with a served keep-alive connection.
        held = []
        for _ in range(spare + 10):
            c = Conn(srv.port, timeout=2)
            self.addCleanup(c.close)
            c.send(req('GET', '/plaintext'))
            held.append(c)
        served, waiting = [], []
        for c in held:
            try:
                r = c.read_final(timeout=0.5 if served and len(served) >= spare - 2 else 2)
            except (socket.timeout, h.Closed):
                waiting.append(c)
                continue
            (served if r.status == 200 else waiting).append(c)
        self.assertGreater(len(served), 0)
        self.assertGreater(len(waiting), 0, 'every client was served: the limit was not reached')

        # The episode: the server stays almost idle and logs once.
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        log0 = len(srv.log_lines())
        refused = []
        deadline = time.monotonic() + 2
        for _ in range(100):
            if time.monotonic() > deadline:
                break
            c = Conn(srv.port, timeout=1)
            self.addCleanup(c.close)
            c.send(req('GET', '/plaintext'))
            try:
                r = c.read_final(timeout=0.5)
                refused.append(r)
            except (socket.timeout, h.Closed):
                pass
        busy = cpu_seconds(pid) - cpu0
        elapsed = time.monotonic() - t0
        self.assertLess(busy, 0.5 * elapsed,
                        'the server burnt %.2f s of CPU in %.2f s while out of descriptors'
                        % (busy, elapsed))
        logs = srv.log_lines()
        accept_logs = [l for l in logs if b'accept' in l]
        self.assertLessEqual(len(accept_logs), 2, b''.join(accept_logs[:5]))
        self.assertLess(sum(len(l) for l in logs[log0:]), 4096)
        # Waiting clients hear why rather than time out.
        self.assertTrue(refused, 'no waiting client was answered')
        for r in refused:
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.header('Retry-After'), '1', r)
            self.assertIn('file descriptors', r.json()['detail'])

        # The connections already open are still served.
        for c in served[:3]:
            c.send(req('GET', '/plaintext'))
            self.assertEqual(c.read_final(timeout=2).status, 200)

        # Clients leave: the server accepts again by itself.
        for c in held:
            c.close()
        ok = False
        deadline = time.monotonic() + 5
        while not ok and time.monotonic() < deadline:
            c = Conn(srv.port, timeout=1)
            try:
                c.send(req('GET', '/plaintext', ['Connection: close']))
                ok = c.read_final(timeout=1).status == 200
            except (socket.timeout, h.Closed, ConnectionError):
                time.sleep(0.05)
            finally:
                c.close()
        self.assertTrue(ok, 'the server did not recover; stderr:\n' + srv.stderr())


class HalfCloseTest(Base):
    """A client that sends its request and then its FIN (shutdown(SHUT_WR)) gets its answer and
    then the server's FIN at once, not after a timeout."""

    def test_fin_with_request(self):
        srv = self.start()
        c = self.conn(srv)
        c.send(req('GET', '/plaintext'))
        c.sock.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        data = c.read_until_eof(timeout=2)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertTrue(data.startswith(b'HTTP/1.1 200 '), data)
        self.assertTrue(data.endswith(b'Hello, World!'), data)

    def test_fin_after_pipelined_requests(self):
        srv = self.start()
        c = self.conn(srv)
        c.send(req('GET', '/plaintext') + req('POST', '/echo', body='abc') + req('GET', '/'))
        c.sock.shutdown(socket.SHUT_WR)
        data = c.read_until_eof(timeout=2)
        self.assertEqual(data.count(b'HTTP/1.1 200 '), 3, data)

    def test_fin_after_a_partial_head(self):
        srv = self.start()
        c = self.conn(srv)
        c.send(b'GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n')
        c.sock.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        c.read_until_eof(timeout=2)
        self.assertLess(time.monotonic() - t0, 1.0)

    def test_fin_during_a_slow_handler(self):
        # the handler is suspended when the FIN comes: its answer still arrives, then EOF
        srv = self.start()
        c = self.conn(srv)
        c.send(req('GET', '/sleep?ms=200'))
        c.sock.shutdown(socket.SHUT_WR)
        data = c.read_until_eof(timeout=3)
        self.assertTrue(data.startswith(b'HTTP/1.1 200 '), data)


class SignalsTest(Base):
    """SIGHUP stops as gracefully as SIGTERM (an in-flight request is answered); SIGUSR1 is
    ignored and logged instead of killing the process on the spot (SIGUSR2 upgrades the binary:
    http_test.py's UpgradeTest)."""

    def test_sighup_is_graceful(self):
        srv = self.start()
        c = self.conn(srv)
        c.send(req('GET', '/sleep?ms=1000'))
        time.sleep(0.2)  # the request is in its handler by then (it sleeps a second)
        srv.signal(signal.SIGHUP)
        r = c.read_final(timeout=5)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b'slept')
        self.assertEqual(srv.wait(10), 0)
        self.assert_logged(srv, 'SIGHUP: shutting down gracefully')

    def test_sigusr1_ignored(self):
        srv = self.start()
        for n in (1, 2):  # one after the other: two pending SIGUSR1 would be delivered as one
            srv.signal(signal.SIGUSR1)
            deadline = time.monotonic() + 5
            while srv.stderr().count('ignored') < n and time.monotonic() < deadline:
                time.sleep(0.02)
        self.assertIsNone(srv.wait(0.1), 'the server died: ' + srv.stderr())
        c = self.conn(srv)
        c.send(req('GET', '/plaintext'))
        self.assertEqual(c.read_final().status, 200)
        self.assertEqual(srv.stderr().count('SIGUSR1'), 2, srv.stderr())
        self.assertEqual(srv.stderr().count('ignored'), 2, srv.stderr())


class RefusedBodyTest(Base):
    """A client that sends its whole body before reading (Python's http.client, requests) still
    reads the 413, as with nginx's lingering close; the discarding is bounded."""

    def send_all_then_read(self, srv, size):
        c = self.conn(srv, timeout=10)
        c.send(req('POST', '/echo', ['Content-Length: %d' % size]).rstrip(b'\r\n') + b'\r\n\r\n')
        chunk = b'x' * 65536
        left = size
        while left > 0:
            n = min(left, len(chunk))
            c.sock.sendall(chunk[:n])
            left -= n
        return c.read_final(timeout=5)

    def test_413_after_a_5mb_body(self):
        srv = self.start('--max-body', str(1 << 20))
        r = self.send_all_then_read(srv, 5 << 20)
        self.assertEqual(r.status, 413, r)

    def test_chunked_limit_counts_the_decoded_body(self):
        # the default 1 MiB limit: 1,000,000 bytes in 32-byte chunks is 1.19 MB on the wire, and
        # 185,000 bytes in 1-byte chunks 1.1 MB; both are bodies within the limit (nginx)
        srv = self.start()
        for size, piece in ((1000000, 32), (185000, 1)):
            body = bytes(range(256)) * (size // 256) + b'x' * (size % 256)
            wire = b''.join(b'%x\r\n%s\r\n' % (len(body[i:i + piece]), body[i:i + piece])
                           for i in range(0, size, piece)) + b'0\r\n\r\n'
            self.assertGreater(len(wire), 1 << 20)
            c = self.conn(srv, timeout=10)
            c.send(req('POST', '/echo', ['Transfer-Encoding: chunked']) + wire)
            r = c.read_final(timeout=10)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, body)
        # and a decoded body over the limit is still refused
        c = self.conn(srv, timeout=10)
        big = b'x' * 4096
        c.send(req('POST', '/echo', ['Transfer-Encoding: chunked'])
               + (b'1000\r\n' + big + b'\r\n') * 257 + b'0\r\n\r\n')
        self.assertEqual(c.read_final(timeout=10).status, 413)

    def test_discarding_is_bounded(self):
        srv = self.start('--max-body', str(1 << 20))
        c = self.conn(srv, timeout=10)
        c.send(req('POST', '/echo', ['Content-Length: %d' % (1 << 30)]).rstrip(b'\r\n')
               + b'\r\n\r\n')
        chunk = b'x' * 65536
        sent, broken = 0, False
        try:
            for _ in range((512 << 20) // len(chunk)):  # at most 512 MiB
                c.sock.sendall(chunk)
                sent += len(chunk)
        except (ConnectionError, socket.timeout):
            broken = True
        self.assertTrue(broken, 'the server discarded %d bytes without end' % sent)
        self.assertLess(sent, 256 << 20)


class UploadDiskFullTest(Base):
    """An upload that finds no room on the disk answers 503 saying so, without the path of the
    temporary file (the log has it)."""

    def test_upload_to_a_full_disk(self):
        formsapp = os.environ.get('FORMSAPP')
        if not formsapp:
            self.skipTest('FORMSAPP not set')
        mnt = tempfile.mkdtemp(prefix='cadre-upload-full-')
        self.addCleanup(os.rmdir, mnt)
        prefix = tmpfs_prefix(mnt, '256k', FILL)
        if prefix is None:
            self.skipTest('no mount namespace for a small tmpfs on this machine')
        srv = h.Server([], 1, app=formsapp, prefix=prefix, env=dict(os.environ, TMPDIR=mnt))
        self.addCleanup(srv.stop)
        boundary = 'xXxXboundary'
        body = (('--%s\r\nContent-Disposition: form-data; name="title"\r\n\r\nreport\r\n'
                 '--%s\r\nContent-Disposition: form-data; name="doc"; filename="a.bin"\r\n'
                 'Content-Type: application/octet-stream\r\n\r\n' % (boundary, boundary)).encode()
                + b'x' * (512 << 10) + ('\r\n--%s--\r\n' % boundary).encode())
        c = self.conn(srv, timeout=10)
        c.send(req('POST', '/upload', ['Content-Type: multipart/form-data; boundary=' + boundary],
                   body=body))
        r = c.read_final(timeout=10)
        self.assertEqual(r.status, 503, r)
        self.assertIn('no space left', r.json()['detail'])
        self.assertNotIn(mnt.encode(), r.body)
        self.assertNotIn(b'cadre-upload', r.body)
        self.assert_logged(srv, 'No space left on device')


def main():
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s PATH/TO/testapp [unittest args]\n' % sys.argv[0])
        return 2
    h.APP = os.path.abspath(sys.argv[1])
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2, exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
