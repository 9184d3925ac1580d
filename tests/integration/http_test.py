#!/usr/bin/env python3
"""HTTP/1.1 integration tests for Cadre, over raw sockets.

Usage: http_test.py PATH/TO/testapp [unittest options]

Each test starts its own `testapp serve --port 0 ...` (stderr piped; the port is parsed from the
"listening on http://127.0.0.1:PORT" log record) and stops it in tearDown (SIGTERM, then SIGKILL
after 10 s). Every socket has a timeout and every loop is bounded. Python 3 stdlib only.

Expectations follow RFC 9110 / RFC 9112 and the contracts in include/cadre/*.h, not whatever the
implementation happens to do.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

APP = None  # set from argv[1]

HOST = '127.0.0.1'
START_TIMEOUT = 10.0  # bounded wait for the "listening on" record
STOP_TIMEOUT = 10.0  # SIGTERM, then SIGKILL after this long
IO_TIMEOUT = 5.0  # default per-socket timeout
MAX_READ = 8 * 1024 * 1024  # never buffer more than this from one connection

LISTEN_RE = re.compile(rb'listening on http://127\.0\.0\.1:(\d+)')
STATUS_RE = re.compile(rb'^HTTP/(\d)\.(\d) (\d{3}) ([^\r\n]*)$')
TOKEN_RE = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
IMF_FIXDATE_RE = re.compile(
    r'^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) '
    r'\d{4} \d\d:\d\d:\d\d GMT$')


# -------------------------------------------------------------------------------------------------
# The server under test
# -------------------------------------------------------------------------------------------------

class Server:
    """One `testapp serve` process. stderr is drained by a thread (so logging never blocks)."""

    def __init__(self, args, workers, preexec_fn=None, app=None, prefix=(), env=None, pass_fds=()):
        """prefix: a command the app runs under (its argv follows); env: the app's environment."""
        self.argv = list(prefix) + [app or APP, 'serve', '--host', HOST, '--port', '0',
                                    '--workers', str(workers)]
        self.argv += [str(a) for a in args]
        self.lines = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.port = None
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     preexec_fn=preexec_fn, env=env, pass_fds=pass_fds)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.ready.wait(0.05):
                break
            if self.proc.poll() is not None:
                self.reader.join(2)
                break
        if self.port is None:
            self.stop()
            raise AssertionError('server did not report "listening on http://127.0.0.1:PORT" '
                                 'within %.0f s (argv %r, exit %r); stderr:\n%s'
                                 % (START_TIMEOUT, self.argv, self.proc.returncode, self.stderr()))

    def _drain(self):
        stream = self.proc.stderr
        while True:
            line = stream.readline()
            if not line:
                break
            with self.lock:
                self.lines.append(line)
            if self.port is None:
                m = LISTEN_RE.search(line)
                if m:
                    self.port = int(m.group(1))
                    self.ready.set()

    def stderr(self):
        with self.lock:
            return b''.join(self.lines).decode('utf-8', 'replace')

    def log_lines(self):
        with self.lock:
            return list(self.lines)

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        """Exit status, or None if the process is still running after timeout seconds."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.reader.join(5)  # its last lines: stderr() is whole once the exit is known
        return status

    def stop(self):
        """SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL. Returns (exit status, was_killed)."""
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                killed = True
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        self.reader.join(5)
        try:
            self.proc.stderr.close()
        except OSError:
            pass
        return self.proc.returncode, killed


# -------------------------------------------------------------------------------------------------
# A small, strict HTTP/1.1 response reader over a raw socket
# -------------------------------------------------------------------------------------------------

class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version  # e.g. 'HTTP/1.1'
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] as str, in order
        self.body = body  # bytes

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def tokens(self, name):
        out = []
        for v in self.header_all(name):
            out += [t.strip().lower() for t in v.split(',') if t.strip()]
        return out

    def json(self):
        return json.loads(self.body.decode('utf-8'))

    def __repr__(self):
        return '<Response %s %d %r headers=%r body=%r>' % (
            self.version, self.status, self.reason, self.headers, self.body[:200])


class Closed(Exception):
    """The peer closed (or reset) the connection."""


class Conn:
    def __init__(self, port, timeout=IO_TIMEOUT, rcvbuf=None):
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        self.closing = False  # the last response said Connection: close
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock.connect((HOST, port))
        except BaseException:
            self.sock.close()
            raise

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode('latin-1')
        self.sock.sendall(data)

    def send_slowly(self, data, piece=1, pause=0.002):
        """Sends data in pieces of `piece` bytes with a pause after each (bounded by len)."""
        if isinstance(data, str):
            data = data.encode('latin-1')
        for i in range(0, len(data), piece):
            self.sock.sendall(data[i:i + piece])
            time.sleep(pause)

    def _more(self, deadline):
        """Reads more bytes into buf. False on EOF (or reset). Raises socket.timeout."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout('timed out')
        self.sock.settimeout(min(self.timeout, remaining))
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self.eof = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        if len(self.buf) > MAX_READ:
            raise AssertionError('more than %d bytes buffered from the server' % MAX_READ)
        return True

    def _line(self, deadline, limit=65536):
        for _ in range(1000000):
            i = self.buf.find(b'\r\n')
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > limit:
                raise AssertionError('response line longer than %d bytes: %r'
                                     % (limit, bytes(self.buf[:200])))
            if not self._more(deadline):
                raise Closed('connection closed while reading a line (have %r)'
                             % bytes(self.buf[:200]))
        raise AssertionError('unbounded line')

    def _exact(self, n, deadline):
        for _ in range(10000000):
            if len(self.buf) >= n:
                data = bytes(self.buf[:n])
                del self.buf[:n]
                return data
            if not self._more(deadline):
                raise Closed('connection closed after %d of %d body bytes' % (len(self.buf), n))
        raise AssertionError('unbounded read')

    def read_response(self, method='GET', timeout=None):
        """Reads the next response (interim 1xx responses included). Raises Closed if the
        connection closes before a complete response."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        line = self._line(deadline)
        m = STATUS_RE.match(line)
        if not m:
            raise AssertionError('malformed status line %r' % line)
        version = 'HTTP/%s.%s' % (m.group(1).decode(), m.group(2).decode())
        status = int(m.group(3))
        reason = m.group(4).decode('latin-1')
        headers = []
        for _ in range(1000):
            line = self._line(deadline)
            if line == b'':
                break
            name, sep, value = line.partition(b':')
            if not sep or not TOKEN_RE.match(name):
                raise AssertionError('malformed response header line %r' % line)
            if b'\r' in value or b'\n' in value or b'\0' in value:
                raise AssertionError('bad bytes in response header %r' % line)
            headers.append((name.decode('latin-1'), value.strip(b' \t').decode('latin-1')))
        else:
            raise AssertionError('too many response headers')
        resp = Response(version, status, reason, headers, b'')
        te = resp.tokens('Transfer-Encoding')
        cls = resp.header_all('Content-Length')
        if method == 'HEAD' or 100 <= status < 200 or status in (204, 304):
            body = b''
        elif te:
            if te[-1] != 'chunked':
                raise AssertionError('response with Transfer-Encoding not ending in chunked: %r'
                                     % resp)
            body = self._chunked(deadline)
        elif cls:
            if len(cls) != 1 or not re.match(r'^[0-9]+$', cls[0]):
                raise AssertionError('bad Content-Length in response: %r' % resp)
            body = self._exact(int(cls[0]), deadline)
        else:
            # Delimited by close.
            for _ in range(10000000):
                if not self._more(deadline):
                    break
            body = bytes(self.buf)
            del self.buf[:]
        resp.body = body
        if status >= 200 and 'close' in resp.tokens('Connection'):
            self.closing = True
        return resp

    def _chunked(self, deadline):
        body = bytearray()
        for _ in range(1000000):
            line = self._line(deadline)
            size = int(line.split(b';', 1)[0].strip(), 16)
            if size == 0:
                for _ in range(1000):
                    if self._line(deadline) == b'':
                        return bytes(body)
                raise AssertionError('too many trailer lines')
            body += self._exact(size, deadline)
            if self._exact(2, deadline) != b'\r\n':
                raise AssertionError('chunk data not followed by CRLF')
        raise AssertionError('too many chunks')

    def read_final(self, method='GET', timeout=None):
        """The next final (non-1xx) response, skipping interim ones."""
        for _ in range(10):
            r = self.read_response(method, timeout)
            if r.status >= 200:
                return r
        raise AssertionError('too many interim responses')

    def read_until_eof(self, timeout=IO_TIMEOUT):
        """Everything the server sends until it closes the connection (EOF or reset).
        AssertionError if it is still open after timeout seconds."""
        deadline = time.monotonic() + timeout
        try:
            for _ in range(10000000):
                if not self._more(deadline):
                    break
        except socket.timeout:
            raise AssertionError('connection still open %.1f s later (received %r)'
                                 % (timeout, bytes(self.buf[:200])))
        data = bytes(self.buf)
        del self.buf[:]
        return data


def req(method, target, headers=(), body=None, version='HTTP/1.1', host=True):
    """Builds a request as bytes. headers: list of 'Name: value' strings (or bytes)."""
    lines = [('%s %s %s' % (method, target, version)).encode('latin-1')]
    if host:
        lines.append(b'Host: 127.0.0.1')
    for h in headers:
        lines.append(h if isinstance(h, bytes) else h.encode('latin-1'))
    if body is not None:
        if isinstance(body, str):
            body = body.encode('latin-1')
        if not any((h if isinstance(h, bytes) else h.encode()).lower()
                   .startswith((b'content-length:', b'transfer-encoding:')) for h in headers):
            lines.append(b'Content-Length: %d' % len(body))
    return b'\r\n'.join(lines) + b'\r\n\r\n' + (body or b'')


# -------------------------------------------------------------------------------------------------
# Base test case
# -------------------------------------------------------------------------------------------------

class Base(unittest.TestCase):
    server_args = ()
    workers = 2
    autostart = True

    def setUp(self):
        self.servers = []
        self.conns = []
        self.server = self.start_server(*self.server_args) if self.autostart else None

    def tearDown(self):
        for c in self.conns:
            c.close()
        for s in self.servers:
            s.stop()

    def start_server(self, *args, workers=None):
        s = Server(args, self.workers if workers is None else workers)
        self.servers.append(s)
        return s

    def wait_log(self, srv, pattern, timeout=10):
        """The first match of pattern in srv's log, waited for (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, srv.stderr())
            if m:
                return m
            time.sleep(0.02)
        self.fail('no %r in the log within %d s:\n%s' % (pattern, timeout, srv.stderr()))

    def connect(self, server=None, **kw):
        c = Conn((server or self.server).port, **kw)
        self.conns.append(c)
        return c

    def roundtrip(self, raw, method='GET', server=None):
        c = self.connect(server)
        c.send(raw)
        return c.read_final(method)

    def assert_text(self, r, body, status=200):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.body, body if isinstance(body, bytes) else body.encode(), r)

    def assert_closed(self, c, timeout=IO_TIMEOUT):
        """The server closes the connection without sending anything more."""
        rest = c.read_until_eof(timeout)
        self.assertEqual(rest, b'', 'unexpected bytes before close')

    def assert_refused(self, raw, status, server=None, send=None):
        """A request refused with `status`, after which the server closes the connection."""
        c = self.connect(server)
        if send:
            send(c)
        else:
            c.send(raw)
        try:
            r = c.read_final()
        except Closed as e:
            self.fail('connection closed without a %d response: %s' % (status, e))
        except socket.timeout:
            self.fail('no response within %.0f s (expected %d)' % (c.timeout, status))
        self.assertEqual(r.status, status, r)
        self.assert_closed(c)
        return r

    def assert_json_detail(self, r, status, detail=None):
        self.assertEqual(r.status, status, r)
        ct = r.header('Content-Type') or ''
        self.assertTrue(ct.lower().startswith('application/json'), r)
        doc = r.json()
        self.assertIsInstance(doc, dict, r)
        self.assertIn('detail', doc, r)
        if detail is not None:
            self.assertEqual(doc, {'detail': detail}, r)
        return doc


# -------------------------------------------------------------------------------------------------
# Basics, HEAD, framing of responses
# -------------------------------------------------------------------------------------------------

class BasicTest(Base):
    def test_get_root(self):
        r = self.roundtrip(req('GET', '/'))
        self.assert_text(r, 'ok')
        self.assertEqual(r.version, 'HTTP/1.1')
        date = r.header('Date')
        self.assertIsNotNone(date, r)
        self.assertRegex(date, IMF_FIXDATE_RE)
        self.assertEqual(r.header_all('Content-Length'), ['2'], r)
        self.assertTrue((r.header('Content-Type') or '').startswith('text/plain'), r)
        self.assertEqual(r.header('Transfer-Encoding'), None, r)

    def test_plaintext(self):
        r = self.roundtrip(req('GET', '/plaintext'))
        self.assert_text(r, 'Hello, World!')
        self.assertEqual(r.header('Content-Length'), '13')

    def test_head_same_headers_no_body(self):
        c = self.connect()
        c.send(req('GET', '/plaintext'))
        g = c.read_final()
        self.assert_text(g, 'Hello, World!')
        # HEAD, then a GET pipelined behind it: the GET's status line must follow the HEAD
        # response's blank line directly (no body bytes in between).
        c.send(req('HEAD', '/plaintext') + req('GET', '/'))
        h = c.read_final('HEAD')
        self.assertEqual(h.status, 200, h)
        self.assertEqual(h.body, b'')
        self.assertEqual(h.header('Content-Length'), '13', h)
        self.assertEqual(h.header('Content-Type'), g.header('Content-Type'), h)
        self.assertIsNotNone(h.header('Date'), h)
        # the same but the date, and each request's own id
        strip = lambda hs: sorted((n.lower(), v) for n, v in hs
                                  if n.lower() not in ('date', 'x-request-id'))
        self.assertEqual(strip(h.headers), strip(g.headers))
        self.assert_text(c.read_final(), 'ok')

    def test_head_big(self):
        c = self.connect()
        c.send(req('HEAD', '/big') + req('GET', '/items/after'))
        h = c.read_final('HEAD')
        self.assertEqual(h.status, 200, h)
        self.assertEqual(h.header('Content-Length'), '200000', h)
        self.assert_text(c.read_final(), 'item after')

    def test_head_on_error_responses_has_no_body(self):
        # RFC 9110 9.3.2: no content in a HEAD response, whatever the status.
        c = self.connect()
        c.send(req('HEAD', '/nope') + req('HEAD', '/echo') + req('HEAD', '/fail')
               + req('GET', '/items/after'))
        for status in (404, 405, 500):
            r = c.read_final('HEAD')
            self.assertEqual((r.status, r.body), (status, b''), r)
        self.assert_text(c.read_final(), 'item after')

    def test_http_1_2_is_served_as_1_1(self):
        # RFC 9110 2.5: a higher minor version is understood as the highest one supported.
        r = self.roundtrip(req('GET', '/plaintext', version='HTTP/1.2'))
        self.assert_text(r, 'Hello, World!')

    def test_absolute_form_target(self):
        # RFC 9112 3.2.2: a server MUST accept the absolute-form in requests.
        r = self.roundtrip(req('GET', 'http://127.0.0.1/plaintext'))
        self.assert_text(r, 'Hello, World!')

    def test_empty_lines_before_request_line(self):
        # RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request-line.
        c = self.connect()
        c.send(req('POST', '/echo', body='abc') + b'\r\n' + req('GET', '/items/next'))
        self.assert_text(c.read_final(), 'abc')
        self.assert_text(c.read_final(), 'item next')


# -------------------------------------------------------------------------------------------------
# Persistent connections
# -------------------------------------------------------------------------------------------------

class StreamTest(Base):
    """cadre_respond_stream: a body written part by part as it is sent."""

    @staticmethod
    def expected(parts, size):
        return b''.join((b'%d:' % i).ljust(size, b'.') for i in range(parts))

    def test_chunked_then_the_connection_goes_on(self):
        c = self.connect()
        c.send(req('GET', '/stream?parts=5&size=100&nap=1'))
        r = c.read_final()
        self.assertEqual((r.status, r.header('Transfer-Encoding'), r.header('Content-Length'),
                          r.header('X-Parts')), (200, 'chunked', None, 'given'), r)
        self.assertEqual(r.body, self.expected(5, 100))
        c.send(req('GET', '/plaintext'))  # the same connection serves the next request
        self.assert_text(c.read_final(), 'Hello, World!')

    def test_pipelined_answers_stay_in_order(self):
        c = self.connect()
        c.send(req('GET', '/stream?parts=3&size=5000&nap=1') + req('GET', '/plaintext')
               + req('GET', '/stream?parts=2&size=20'))
        self.assertEqual(c.read_final().body, self.expected(3, 5000))
        self.assert_text(c.read_final(), 'Hello, World!')
        self.assertEqual(c.read_final().body, self.expected(2, 20))

    def test_large_body_to_a_slow_reader(self):
        # 48 MiB through a 64 KiB receive buffer: the writer waits for the client, the body
        # arrives whole and in order (read in pieces, never buffered whole by the test)
        c = self.connect(rcvbuf=65536, timeout=60)
        c.send(req('GET', '/stream?parts=768&size=65536'))
        head = b''
        for _ in range(2000):
            head += c.sock.recv(1)
            if head.endswith(b'\r\n\r\n'):
                break
        self.assertIn(b'Transfer-Encoding: chunked', head)
        c.buf = bytearray()
        deadline = time.monotonic() + 60
        for i in range(768):
            line = c._line(deadline)
            self.assertEqual(int(line, 16), 65536)
            part = c._exact(65536, deadline)
            self.assertEqual(part[:12], (b'%d:' % i).ljust(12, b'.'))
            self.assertEqual(c._exact(2, deadline), b'\r\n')
        self.assertEqual(c._line(deadline), b'0')
        self.assertEqual(c._line(deadline), b'')

    def test_http10_body_ends_with_the_connection(self):
        c = self.connect()
        c.send(req('GET', '/stream?parts=4&size=50', version='HTTP/1.0'))
        r = c.read_final()
        self.assertEqual((r.status, r.header('Transfer-Encoding'), r.header('Content-Length')),
                         (200, None, None), r)
        self.assertEqual(r.body, self.expected(4, 50))
        self.assertTrue(c.eof)

    def test_head_sends_no_body_and_no_length(self):
        c = self.connect()
        c.send(req('HEAD', '/stream?parts=4&size=50') + req('GET', '/plaintext'))
        r = c.read_final('HEAD')
        self.assertEqual((r.status, r.header('Content-Length')), (200, None), r)
        self.assert_text(c.read_final(), 'Hello, World!')  # nothing stood between them

    def test_a_failing_writer_truncates_and_closes(self):
        c = self.connect()
        c.send(req('GET', '/stream?parts=10&size=100&fail=3') + req('GET', '/plaintext'))
        with self.assertRaises(Closed):  # no last chunk: the client knows the body is cut
            c.read_final()
        self.assertTrue(c.eof)
        self.assertEqual(bytes(c.buf), b'')  # nor an answer to the request behind it
        # and before the first part: the head only, then the close
        c = self.connect()
        c.send(req('GET', '/stream?parts=10&size=100&fail=0'))
        with self.assertRaises(Closed):
            c.read_final()

    def test_a_client_that_leaves_midway(self):
        c = self.connect(rcvbuf=4096)
        c.send(req('GET', '/stream?parts=100000&size=65536'))
        c.sock.recv(1000)
        c.close()  # the writer stops (the server would otherwise write 6 GB)
        self.assert_text(self.roundtrip(req('GET', '/plaintext')), 'Hello, World!')


class HandedOverSocketTest(Base):
    """LISTEN_FDS (systemd's socket handover, what serve --reload does): the server answers on
    the socket it is given, and a connection made while no server runs waits in that socket's
    queue and is answered by the next server — never refused."""
    autostart = False

    def handed(self, sock, workers):
        def child():
            os.dup2(sock.fileno(), 3)
            os.environ['LISTEN_FDS'] = '1'
            os.environ['LISTEN_PID'] = str(os.getpid())
        s = Server((), workers, preexec_fn=child, pass_fds=(3,))
        self.servers.append(s)
        return s

    def test_served_on_the_socket_given_and_across_servers(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.bind((HOST, 0))
        sock.listen(64)
        port = sock.getsockname()[1]
        first = self.handed(sock, 2)  # two workers on one socket
        self.assertEqual(first.port, port)
        self.assertIn('sockets handed over', first.stderr())
        for _ in range(4):
            c = Conn(port)
            c.send(req('GET', '/plaintext'))
            self.assert_text(c.read_final(), 'Hello, World!')
            c.close()
        self.assertEqual(first.stop(), (0, False))
        # no server now: the connection is queued by the kernel on the socket we hold
        waiting = Conn(port)
        waiting.send(req('GET', '/plaintext'))
        second = self.handed(sock, 1)
        self.assert_text(waiting.read_final(), 'Hello, World!')
        waiting.close()
        self.assertEqual(second.stop(), (0, False))

    def test_not_for_another_process(self):
        # LISTEN_PID names another process: the variables are not this server's to take
        env = dict(os.environ, LISTEN_FDS='1', LISTEN_PID='1')
        s = Server((), 1, env=env)
        self.servers.append(s)
        self.assertNotIn('handed over', s.stderr())
        self.assert_text(self.roundtrip(req('GET', '/plaintext'), server=s), 'Hello, World!')


class KeepAliveTest(Base):
    def test_100_sequential_requests(self):
        c = self.connect()
        for i in range(100):
            c.send(req('GET', '/items/%d' % i))
            r = c.read_final()
            self.assert_text(r, 'item %d' % i)
            self.assertFalse(c.closing, r)

    def test_http10_closes_by_default(self):
        c = self.connect()
        c.send(req('GET', '/plaintext', version='HTTP/1.0', host=False))
        r = c.read_final()
        self.assertIn(r.version, ('HTTP/1.0', 'HTTP/1.1'))
        self.assert_text(r, 'Hello, World!')
        self.assertIsNone(r.header('Transfer-Encoding'), r)
        self.assert_closed(c)

    def test_http10_keep_alive(self):
        c = self.connect()
        for i in range(3):
            c.send(req('GET', '/items/%d' % i, ['Connection: keep-alive'], version='HTTP/1.0',
                       host=False))
            r = c.read_final()
            self.assert_text(r, 'item %d' % i)
            # An HTTP/1.0 client only knows the connection persists if the response says so.
            self.assertIn('keep-alive', r.tokens('Connection'), r)
        c.send(req('GET', '/', version='HTTP/1.0', host=False))
        self.assert_text(c.read_final(), 'ok')
        self.assert_closed(c)

    def test_connection_close(self):
        c = self.connect()
        c.send(req('GET', '/items/1'))
        self.assert_text(c.read_final(), 'item 1')
        c.send(req('GET', '/items/2', ['Connection: close']))
        self.assert_text(c.read_final(), 'item 2')
        self.assert_closed(c)

    def test_connection_close_ignores_pipelined_rest(self):
        # RFC 9112 9.6: after a request with "close" the server MUST NOT process further requests.
        c = self.connect()
        c.send(req('GET', '/items/1', ['Connection: close']) + req('GET', '/items/2'))
        self.assert_text(c.read_final(), 'item 1')
        self.assert_closed(c)

    def test_connection_header_tokens_case_insensitive(self):
        c = self.connect()
        c.send(req('GET', '/items/1', ['Connection: foo, CLOSE']))
        self.assert_text(c.read_final(), 'item 1')
        self.assert_closed(c)


# -------------------------------------------------------------------------------------------------
# Pipelining
# -------------------------------------------------------------------------------------------------

class PipelineTest(Base):
    def test_16_in_one_send(self):
        c = self.connect()
        c.send(b''.join(req('GET', '/items/%d' % i) for i in range(1, 17)))
        for i in range(1, 17):
            self.assert_text(c.read_final(), 'item %d' % i)

    def test_many_in_one_send_exceeding_head_limit_in_total(self):
        # 400 small requests (> 16 KiB together): the head limit is per request.
        c = self.connect(timeout=10)
        data = b''.join(req('GET', '/items/%d' % i) for i in range(400))
        self.assertGreater(len(data), 16 * 1024)
        c.send(data)
        for i in range(400):
            self.assert_text(c.read_final(timeout=10), 'item %d' % i)

    def test_mixed_methods_and_bodies(self):
        chunked = (b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
                   b'Content-Type: text/x-chunked\r\n\r\n'
                   b'3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n')
        data = (req('GET', '/items/1')
                + req('POST', '/echo', ['Content-Type: text/x-a'], body='first body')
                + req('GET', '/plaintext')
                + chunked
                + req('PUT', '/items/7', body='ignored')
                + req('POST', '/echo', body='')
                + req('DELETE', '/items/8')
                + req('HEAD', '/plaintext')
                + req('POST', '/echo', ['Content-Type: text/x-b'], body='GET / HTTP/1.1\r\n\r\n')
                + req('GET', '/query?key=last'))
        c = self.connect()
        c.send(data)
        self.assert_text(c.read_final(), 'item 1')
        r = c.read_final()
        self.assert_text(r, 'first body')
        self.assertEqual(r.header('Content-Type'), 'text/x-a')
        self.assert_text(c.read_final(), 'Hello, World!')
        r = c.read_final()
        self.assert_text(r, 'abcdefg')
        self.assertEqual(r.header('Content-Type'), 'text/x-chunked')
        self.assert_text(c.read_final(), 'put 7')
        self.assert_text(c.read_final(), '')
        r = c.read_final()
        self.assertEqual(r.status, 204, r)
        r = c.read_final('HEAD')
        self.assertEqual((r.status, r.header('Content-Length'), r.body), (200, '13', b''))
        r = c.read_final()
        self.assert_text(r, 'GET / HTTP/1.1\r\n\r\n')
        self.assertEqual(r.header('Content-Type'), 'text/x-b')
        self.assert_text(c.read_final(), 'last')

    def test_body_of_unrouted_request_is_not_a_request(self):
        # The body of a 404/405 request must be consumed as body, never parsed as a request.
        smuggled = req('GET', '/items/smuggled')
        c = self.connect()
        c.send(req('POST', '/nope', body=smuggled) + req('POST', '/plaintext', body=smuggled)
               + req('GET', '/plaintext', body=smuggled) + req('GET', '/items/real'))
        self.assert_json_detail(c.read_final(), 404, 'Not Found')
        self.assert_json_detail(c.read_final(), 405, 'Method Not Allowed')
        self.assert_text(c.read_final(), 'Hello, World!')
        self.assert_text(c.read_final(), 'item real')


# -------------------------------------------------------------------------------------------------
# Request bodies
# -------------------------------------------------------------------------------------------------

class BodyTest(Base):
    def test_echo_content_length(self):
        body = bytes(range(256)) * 10
        r = self.roundtrip(req('POST', '/echo', ['Content-Type: application/x-test'], body=body))
        self.assert_text(r, body)
        self.assertEqual(r.header('Content-Type'), 'application/x-test')
        self.assertEqual(r.header('Content-Length'), str(len(body)))

    def test_echo_default_content_type(self):
        r = self.roundtrip(req('POST', '/echo', body='data'))
        self.assert_text(r, 'data')
        self.assertEqual(r.header('Content-Type'), 'application/octet-stream')

    def test_echo_empty_body(self):
        r = self.roundtrip(req('POST', '/echo', ['Content-Length: 0'], body=''))
        self.assert_text(r, '')
        self.assertEqual(r.header('Content-Length'), '0')

    def test_echo_large_body(self):
        body = os.urandom(900 * 1024)  # under the 1 MiB default
        c = self.connect(timeout=10)
        c.send(req('POST', '/echo', body=body))
        self.assert_text(c.read_final(timeout=10), body)

    def test_body_in_small_pieces_with_pauses(self):
        body = b'0123456789' * 3
        raw = req('POST', '/echo', ['Content-Type: text/x-slow'], body=body)
        head_len = raw.index(b'\r\n\r\n') + 4
        c = self.connect()
        c.send(raw[:20])
        time.sleep(0.1)
        c.send(raw[20:head_len])
        for i in range(0, len(body), 7):
            time.sleep(0.1)
            c.send(body[i:i + 7])
        r = c.read_final()
        self.assert_text(r, body)
        self.assertEqual(r.header('Content-Type'), 'text/x-slow')

    CHUNKED = (b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
               b'Content-Type: text/x-c\r\n\r\n'
               b'5;name=value\r\nhello\r\n'
               b'2;flag\r\n, \r\n'
               b'a\r\n0123456789\r\n'
               b'B;q="quoted ; string"\r\nABCDEFGHIJK\r\n'
               b'0;last=1\r\nX-Trailer: t1\r\nX-Other: t2\r\n\r\n')
    CHUNKED_BODY = b'hello, 0123456789ABCDEFGHIJK'

    def test_chunked_with_extensions_and_trailers(self):
        c = self.connect()
        c.send(self.CHUNKED + req('GET', '/items/after'))
        r = c.read_final()
        self.assert_text(r, self.CHUNKED_BODY)
        self.assertEqual(r.header('Content-Type'), 'text/x-c')
        self.assert_text(c.read_final(), 'item after')

    def test_chunked_split_byte_by_byte(self):
        c = self.connect(timeout=10)
        c.send_slowly(self.CHUNKED + req('GET', '/items/after'), piece=1, pause=0.002)
        self.assert_text(c.read_final(timeout=10), self.CHUNKED_BODY)
        self.assert_text(c.read_final(), 'item after')

    def test_chunked_split_at_awkward_places(self):
        raw = self.CHUNKED
        cuts = []
        for marker in (b'5;na', b'5;name=value\r', b'hel', b'hello\r', b'a\r\n01234',
                       b'0123456789\r', b'B;q="quo', b'0;la', b'0;last=1\r\n', b'X-Trai',
                       b'X-Other: t2\r', b'X-Other: t2\r\n\r'):
            cuts.append(raw.index(marker) + len(marker))
        cuts = sorted(set(cuts))
        c = self.connect()
        prev = 0
        for cut in cuts:
            c.send(raw[prev:cut])
            prev = cut
            time.sleep(0.03)
        c.send(raw[prev:])
        self.assert_text(c.read_final(), self.CHUNKED_BODY)

    def test_chunked_coding_name_case_insensitive(self):
        # RFC 9112 7: transfer-coding names are case-insensitive.
        raw = (b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n'
               b'3\r\nabc\r\n0\r\n\r\n')
        self.assert_text(self.roundtrip(raw), 'abc')

    def test_expect_100_continue(self):
        c = self.connect()
        c.send(req('POST', '/echo', ['Expect: 100-continue', 'Content-Length: 11',
                                     'Content-Type: text/x-e']))
        # The client has not sent the body: the 100 must come first.
        interim = c.read_response()
        self.assertEqual(interim.version, 'HTTP/1.1')
        self.assertEqual(interim.status, 100, interim)
        self.assertEqual(interim.body, b'')
        c.send(b'hello world')
        r = c.read_final()
        self.assert_text(r, 'hello world')
        self.assertEqual(r.header('Content-Type'), 'text/x-e')
        c.send(req('GET', '/items/next'))
        self.assert_text(c.read_final(), 'item next')

    def test_expect_100_continue_body_sent_anyway(self):
        # A client may send the body without waiting; at most one 100, then the final response.
        c = self.connect()
        c.send(req('POST', '/echo', ['Expect: 100-continue'], body='eager') + req('GET', '/'))
        r = c.read_response()
        if r.status == 100:
            r = c.read_response()
        self.assert_text(r, 'eager')
        self.assert_text(c.read_response(), 'ok')

    def test_expect_100_continue_ignored_for_http10(self):
        # RFC 9110 10.1.1: a server MUST ignore a 100-continue expectation in an HTTP/1.0 request.
        c = self.connect()
        c.send(req('POST', '/echo', ['Expect: 100-continue'], body='ten', version='HTTP/1.0',
                   host=False))
        r = c.read_response()
        self.assert_text(r, 'ten')

    def test_chunked_body_over_max_body(self):
        srv = self.start_server('--max-body', '1000')
        chunk = b'x' * 600
        raw = (b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
               + b'258\r\n' + chunk + b'\r\n' + b'258\r\n' + chunk + b'\r\n0\r\n\r\n')
        self.assert_refused(raw, 413, server=srv)

    def test_chunked_body_at_max_body_accepted(self):
        srv = self.start_server('--max-body', '1000')
        raw = (b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
               + b'1f4\r\n' + b'z' * 500 + b'\r\n' + b'1f4\r\n' + b'z' * 500 + b'\r\n0\r\n\r\n')
        self.assert_text(self.roundtrip(raw, server=srv), b'z' * 1000)

    def test_content_length_at_max_body_accepted(self):
        srv = self.start_server('--max-body', '1000')
        r = self.roundtrip(req('POST', '/echo', body=b'y' * 1000), server=srv)
        self.assert_text(r, b'y' * 1000)


class ExpectOverMaxBodyTest(Base):
    server_args = ('--max-body', '1000')

    def test_expect_with_too_large_body_gets_413_without_100(self):
        c = self.connect()
        c.send(req('POST', '/echo', ['Expect: 100-continue', 'Content-Length: 5000']))
        r = c.read_response(timeout=3)
        self.assertEqual(r.status, 413, r)
        self.assert_closed(c)

    def test_content_length_over_max_body(self):
        c = self.connect()
        t0 = time.monotonic()
        c.send(req('POST', '/echo', ['Content-Length: 1001']))
        r = c.read_response(timeout=3)
        self.assertEqual(r.status, 413, r)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assert_closed(c)


# -------------------------------------------------------------------------------------------------
# Routing and handler results
# -------------------------------------------------------------------------------------------------

class RoutingTest(Base):
    def test_path_param(self):
        self.assert_text(self.roundtrip(req('GET', '/items/42')), 'item 42')

    def test_path_param_decoded(self):
        self.assert_text(self.roundtrip(req('GET', '/items/a%20b')), 'item a b')

    def test_path_param_plus_is_not_space(self):
        self.assert_text(self.roundtrip(req('GET', '/items/a+b')), 'item a+b')

    def test_not_found(self):
        self.assert_json_detail(self.roundtrip(req('GET', '/nope')), 404, 'Not Found')

    def test_not_found_extra_segment(self):
        self.assert_json_detail(self.roundtrip(req('GET', '/items/1/2')), 404, 'Not Found')

    def test_method_not_allowed(self):
        r = self.roundtrip(req('POST', '/plaintext', body=''))
        self.assert_json_detail(r, 405, 'Method Not Allowed')
        allow = r.tokens('Allow')
        self.assertIn('get', allow, r)
        self.assertIn('head', allow, r)
        self.assertNotIn('post', allow, r)

    def test_method_not_allowed_lists_all_methods(self):
        r = self.roundtrip(req('PATCH', '/items/3', body=''))
        self.assertEqual(r.status, 405, r)
        allow = r.tokens('Allow')
        for m in ('get', 'head', 'put', 'delete'):
            self.assertIn(m, allow, r)

    def test_put(self):
        self.assert_text(self.roundtrip(req('PUT', '/items/9', body='x')), 'put 9')

    def test_delete_204(self):
        c = self.connect()
        c.send(req('DELETE', '/items/9') + req('GET', '/items/after'))
        r = c.read_final()
        self.assertEqual(r.status, 204, r)
        # RFC 9110 8.6: no Content-Length in a 204; and no body on the wire (the next response
        # follows directly).
        self.assertEqual(r.header_all('Content-Length'), [], r)
        self.assertEqual(r.header_all('Transfer-Encoding'), [], r)
        self.assertIsNone(r.header('Content-Type'), r)
        self.assert_text(c.read_final(), 'item after')

    def test_query(self):
        self.assert_text(self.roundtrip(req('GET', '/query?key=a+b%21')), 'a b!')

    def test_query_last_of_many(self):
        self.assert_text(self.roundtrip(req('GET', '/query?other=1&key=first&key=second')),
                         'second')

    def test_query_empty_value(self):
        self.assert_text(self.roundtrip(req('GET', '/query?key=')), '')

    def test_query_missing(self):
        self.assert_json_detail(self.roundtrip(req('GET', '/query?other=1')), 404, 'no key')
        self.assert_json_detail(self.roundtrip(req('GET', '/query')), 404, 'no key')

    def test_request_header(self):
        self.assert_text(self.roundtrip(req('GET', '/header', ['X-Test: hello'])), 'hello')

    def test_request_header_case_insensitive_and_trimmed(self):
        self.assert_text(self.roundtrip(req('GET', '/header', ['x-TEST: \t hi there \t '])),
                         'hi there')

    def test_request_header_htab_and_obs_text(self):
        value = b'a\tb caf\xc3\xa9 \xff'
        r = self.roundtrip(req('GET', '/header', [b'X-Test: ' + value]))
        self.assert_text(r, value)

    def test_request_header_first_of_two(self):
        r = self.roundtrip(req('GET', '/header', ['X-Test: one', 'X-Test: two']))
        self.assert_text(r, 'one')

    def test_handler_error_is_500_json(self):
        r = self.roundtrip(req('GET', '/fail'))
        doc = self.assert_json_detail(r, 500)
        self.assertIsInstance(doc['detail'], str)

    def test_connection_survives_app_errors(self):
        c = self.connect()
        c.send(req('GET', '/fail') + req('GET', '/nope') + req('GET', '/items/ok'))
        self.assertEqual(c.read_final().status, 500)
        self.assertEqual(c.read_final().status, 404)
        self.assert_text(c.read_final(), 'item ok')


# -------------------------------------------------------------------------------------------------
# Refusals: the error status, then the connection is closed
# -------------------------------------------------------------------------------------------------

def raw_head(*lines):
    return b'\r\n'.join(l if isinstance(l, bytes) else l.encode('latin-1') for l in lines) \
        + b'\r\n\r\n'


class RefusalTest(Base):
    def test_content_length_and_transfer_encoding(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x', 'Content-Length: 5',
                                     'Transfer-Encoding: chunked'), 400)

    def test_transfer_encoding_and_content_length(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x',
                                     'Transfer-Encoding: chunked', 'Content-Length: 5'), 400)

    def test_duplicate_content_length_different(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x', 'Content-Length: 5',
                                     'Content-Length: 6'), 400)

    def test_duplicate_content_length_same(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x', 'Content-Length: 5',
                                     'Content-Length: 5'), 400)

    def test_content_length_list(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x', 'Content-Length: 5, 5'),
                            400)

    def test_content_length_malformed(self):
        for value in ('+5', '0x5', '5 5', '-1', 'abc', ''):
            with self.subTest(value=value):
                self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x',
                                             'Content-Length: ' + value), 400)

    def test_transfer_encoding_gzip(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x',
                                     'Transfer-Encoding: gzip'), 501)

    def test_bad_chunk_size(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x',
                                     'Transfer-Encoding: chunked') + b'zz\r\n', 400)

    def test_chunk_size_overflow(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x',
                                     'Transfer-Encoding: chunked')
                            + b'FFFFFFFFFFFFFFFFFFFFFFFF\r\n', 400)

    def test_chunk_data_without_crlf(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x',
                                     'Transfer-Encoding: chunked')
                            + b'3\r\nabcXY0\r\n\r\n', 400)

    def test_chunk_size_line_bare_lf(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x',
                                     'Transfer-Encoding: chunked')
                            + b'3\nabc\r\n0\r\n\r\n', 400)

    def test_chunk_extension_invalid(self):
        # http.h: chunk extensions are validated.
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x',
                                     'Transfer-Encoding: chunked')
                            + b'3;\x01\r\nabc\r\n0\r\n\r\n', 400)

    def test_chunk_trailer_invalid(self):
        # http.h: trailer fields are validated.
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x',
                                     'Transfer-Encoding: chunked')
                            + b'3\r\nabc\r\n0\r\nnot a field\r\n\r\n', 400)

    def test_obs_fold(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x', 'X-Foo: a', ' b'), 400)

    def test_space_before_colon(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x', 'X-Foo : a'), 400)

    def test_bare_cr_in_header(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x', b'X-Foo: a\rb'), 400)

    def test_bare_lf_line_ending(self):
        # Contract (http.h): bare LF is refused.
        self.assert_refused(b'GET / HTTP/1.1\r\nHost: x\nX-Foo: a\r\n\r\n', 400)

    def test_nul_in_header(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x', b'X-Foo: a\x00b'), 400)

    def test_control_byte_in_header(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x', b'X-Foo: a\x01b'), 400)

    def test_empty_header_name(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x', ': nameless'), 400)

    def test_invalid_header_name(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x', 'X(Foo): a'), 400)

    def test_missing_host_http11(self):
        self.assert_refused(raw_head('GET / HTTP/1.1'), 400)

    def test_two_host_headers(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: a', 'Host: b'), 400)

    def test_http_2_0(self):
        self.assert_refused(raw_head('GET / HTTP/2.0', 'Host: x'), 505)

    def test_unknown_expectation(self):
        self.assert_refused(raw_head('POST /echo HTTP/1.1', 'Host: x', 'Expect: teapot',
                                     'Content-Length: 3'), 417)

    def test_head_over_16k(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x', 'X-Big: ' + 'a' * 17000), 431)

    def test_too_many_header_fields(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x',
                                     *['X-H%d: v' % i for i in range(120)]), 431)

    def test_100_header_fields_accepted(self):
        # The limit is 100 fields: exactly 100 (Host + 99) is fine.
        r = self.roundtrip(raw_head('GET /items/many HTTP/1.1', 'Host: x',
                                    *['X-H%d: v' % i for i in range(99)]))
        self.assert_text(r, 'item many')

    def test_target_over_8k(self):
        self.assert_refused(raw_head('GET /' + 'a' * 9000 + ' HTTP/1.1', 'Host: x'), 414)

    def test_content_length_over_default_max_body(self):
        # Only the head is sent: the 413 must come without the server waiting for the body.
        c = self.connect()
        t0 = time.monotonic()
        c.send(raw_head('POST /echo HTTP/1.1', 'Host: x', 'Content-Length: 2000000'))
        r = c.read_response(timeout=3)
        self.assertEqual(r.status, 413, r)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assert_closed(c)

    def test_invalid_percent_escape_in_path(self):
        self.assert_refused(raw_head('GET /items/%zz HTTP/1.1', 'Host: x'), 400)

    def test_invalid_percent_escape_in_path_status(self):
        # The status alone (the close is checked by the test above).
        r = self.roundtrip(raw_head('GET /items/%zz HTTP/1.1', 'Host: x'))
        self.assertEqual(r.status, 400, r)


class LimitOptionsTest(Base):
    server_args = ('--max-head', '1024', '--max-target', '100')

    def test_max_head_option(self):
        self.assert_refused(raw_head('GET / HTTP/1.1', 'Host: x', 'X-Big: ' + 'a' * 2000), 431)

    def test_max_target_option(self):
        self.assert_refused(raw_head('GET /' + 'a' * 200 + ' HTTP/1.1', 'Host: x'), 414)

    def test_max_target_boundary(self):
        target = '/items/' + 'c' * (100 - len('/items/'))
        self.assertEqual(len(target), 100)
        self.assert_text(self.roundtrip(req('GET', target)), 'item ' + 'c' * 93)
        self.assert_refused(raw_head('GET %sc HTTP/1.1' % target, 'Host: x'), 414)

    def test_within_limits(self):
        self.assert_text(self.roundtrip(req('GET', '/items/' + 'b' * 50, ['X-Pad: ' + 'p' * 500])),
                         'item ' + 'b' * 50)


# -------------------------------------------------------------------------------------------------
# Timeouts
# -------------------------------------------------------------------------------------------------

class TimeoutTest(Base):
    server_args = ('--header-timeout', '300', '--body-timeout', '300',
                   '--keepalive-timeout', '300')

    def test_partial_head_gets_408(self):
        t0 = time.monotonic()
        c = self.connect()
        c.send(b'GET / HTTP/1.1\r\nHost: x\r\n')
        r = c.read_response(timeout=5)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 408, r)
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 5.0)
        self.assert_closed(c)

    def test_partial_body_gets_408(self):
        c = self.connect()
        t0 = time.monotonic()
        c.send(req('POST', '/echo', ['Content-Length: 10']) + b'abc')
        r = c.read_response(timeout=5)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 408, r)
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 5.0)
        self.assert_closed(c)

    def test_partial_chunked_body_gets_408(self):
        c = self.connect()
        t0 = time.monotonic()
        c.send(raw_head('POST /echo HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked')
               + b'5\r\nab')
        r = c.read_response(timeout=5)
        self.assertEqual(r.status, 408, r)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.assert_closed(c)

    def test_idle_keepalive_closed(self):
        c = self.connect()
        c.send(req('GET', '/'))
        self.assert_text(c.read_final(), 'ok')
        t0 = time.monotonic()
        rest = c.read_until_eof(5)
        elapsed = time.monotonic() - t0
        self.assertEqual(rest, b'', 'an idle connection is closed, not answered')
        self.assertGreaterEqual(elapsed, 0.2)
        self.assertLess(elapsed, 5.0)

    def test_fresh_silent_connection_closed(self):
        c = self.connect()
        c.read_until_eof(5)  # any 408 is acceptable; it must be closed

    def test_partial_second_request_gets_408(self):
        c = self.connect()
        c.send(req('GET', '/items/1'))
        self.assert_text(c.read_final(), 'item 1')
        c.send(b'GET /items/2 HTTP/1.1\r\nHo')
        r = c.read_response(timeout=5)
        self.assertEqual(r.status, 408, r)
        self.assert_closed(c)

    def test_slow_handler_not_cut_by_timeouts(self):
        # A handler running longer than every timeout is not idle, and its head/body are complete.
        c = self.connect()
        c.send(req('GET', '/sleep?ms=800'))
        r = c.read_final(timeout=5)
        self.assert_text(r, 'slept')
        c.send(req('GET', '/items/after'))
        self.assert_text(c.read_final(), 'item after')

    def test_activity_within_timeouts_keeps_connection(self):
        c = self.connect()
        for i in range(4):
            c.send(req('GET', '/items/%d' % i))
            self.assert_text(c.read_final(), 'item %d' % i)
            time.sleep(0.15)  # each idle gap is under the keep-alive timeout


class SlowlorisTest(Base):
    workers = 1
    server_args = ('--header-timeout', '2000')
    N = 200

    def test_slowloris_does_not_starve_others(self):
        attackers = []
        stop = threading.Event()
        try:
            t_start = time.monotonic()
            for i in range(self.N):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                attackers.append(s)
                s.settimeout(5)
                s.connect((HOST, self.server.port))
                s.sendall(b'GET /items/%d HTTP/1.1\r\nHost: x\r\n' % i)

            def drip():
                # One header byte per connection every 100 ms, for at most 1.5 s (under the
                # header timeout, so the server never holds unread data when it closes).
                for _ in range(15):
                    if stop.wait(0.1):
                        return
                    for s in attackers:
                        try:
                            s.sendall(b'X')
                        except OSError:
                            pass

            dripper = threading.Thread(target=drip, daemon=True)
            dripper.start()
            time.sleep(0.2)
            worst = 0.0
            for i in range(5):
                t0 = time.monotonic()
                c = self.connect()
                c.send(req('GET', '/plaintext'))
                r = c.read_final(timeout=5)
                worst = max(worst, time.monotonic() - t0)
                self.assert_text(r, 'Hello, World!')
                c.close()
                time.sleep(0.1)
            self.assertLess(worst, 1.0, 'a normal client waited %.2f s' % worst)
            stop.set()
            dripper.join(5)
            self.assertFalse(dripper.is_alive())
            # The header timeout is for the whole head: every dripping connection gets a 408
            # and is closed, ~2 s after it started.
            deadline = t_start + 2.0 + 6.0
            statuses = {}
            for s in attackers:
                data = b''
                for _ in range(100000):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    s.settimeout(remaining)
                    try:
                        chunk = s.recv(65536)
                    except socket.timeout:
                        break
                    except ConnectionResetError:
                        chunk = b''
                    if not chunk:
                        data += b'<EOF>'
                        break
                    data += chunk
                self.assertTrue(data.endswith(b'<EOF>'),
                                'slowloris connection still open: %r' % data[:100])
                statuses[data[:12]] = statuses.get(data[:12], 0) + 1
            self.assertEqual(list(statuses), [b'HTTP/1.1 408'], statuses)
            # Still serving afterwards.
            self.assert_text(self.roundtrip(req('GET', '/plaintext')), 'Hello, World!')
        finally:
            stop.set()
            for s in attackers:
                s.close()


# -------------------------------------------------------------------------------------------------
# Coroutines, graceful shutdown, large responses
# -------------------------------------------------------------------------------------------------

class CoroutineTest(Base):
    workers = 1

    def test_sleep_does_not_block_worker(self):
        a = self.connect()
        t_a = time.monotonic()
        a.send(req('GET', '/sleep?ms=1000'))
        time.sleep(0.1)
        b = self.connect()
        t_b = time.monotonic()
        b.send(req('GET', '/plaintext'))
        rb = b.read_final(timeout=5)
        fast = time.monotonic() - t_b
        self.assert_text(rb, 'Hello, World!')
        self.assertLess(fast, 0.5, 'plaintext took %.2f s behind a sleeping request' % fast)
        ra = a.read_final(timeout=5)
        slow = time.monotonic() - t_a
        self.assert_text(ra, 'slept')
        self.assertGreaterEqual(slow, 0.95)
        self.assertLess(slow, 4.0)

    def test_many_concurrent_sleeps(self):
        conns = []
        t0 = time.monotonic()
        for i in range(50):
            c = self.connect()
            c.send(req('GET', '/sleep?ms=500'))
            conns.append(c)
        for c in conns:
            self.assert_text(c.read_final(timeout=5), 'slept')
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, 3.0, '50 concurrent 0.5 s sleeps took %.2f s on one worker'
                        % elapsed)

    def test_pipelined_requests_after_sleep_keep_order(self):
        c = self.connect()
        c.send(req('GET', '/sleep?ms=300') + req('GET', '/items/2'))
        self.assert_text(c.read_final(), 'slept')
        self.assert_text(c.read_final(), 'item 2')


class BackgroundTest(Base):
    """Background coroutines (cadre_spawn): they run on the worker beside its requests, wait
    idle until woken, and a stop waits for them as for requests — an idle one ends at once, a
    busy one is waited for up to the shutdown timeout, then dropped."""
    workers = 1
    autostart = False

    def start(self, *args):
        s = Server(args, 1, env=dict(os.environ, TESTAPP_TICKER='1'))
        self.servers.append(s)
        return s

    def get(self, srv, path, method='GET'):
        """One request on a connection of its own, closed after (an idle keep-alive connection
        would get its 2 s for a last request at the stop)."""
        c = self.connect(srv)
        c.send(req(method, path))
        r = c.read_final()
        c.close()
        return r

    def test_idle_until_woken(self):
        srv = self.start()
        self.assert_text(self.get(srv, '/ticks'), '0')
        for n in (1, 2, 3):
            self.assert_text(self.get(srv, '/kick'), 'kicked')
            deadline = time.monotonic() + 5
            while self.get(srv, '/ticks').body != str(n).encode() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assert_text(self.get(srv, '/ticks'), str(n))
        time.sleep(0.2)  # no wake-up without a kick
        self.assert_text(self.get(srv, '/ticks'), '3')
        # an idle background coroutine does not hold the stop
        t = time.monotonic()
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(5), 0, srv.stderr())
        self.assertLess(time.monotonic() - t, 1.5)
        self.assertIn('ticker: stopping after 3 wake-ups', srv.stderr())

    def test_runs_beside_requests_and_the_stop_waits_for_it(self):
        srv = self.start('--shutdown-timeout', '5000')
        self.assertEqual(self.get(srv, '/background?ms=700', 'POST').status, 202)
        # the worker serves meanwhile
        t = time.monotonic()
        self.assert_text(self.get(srv, '/plaintext'), 'Hello, World!')
        self.assertLess(time.monotonic() - t, 0.5)
        t = time.monotonic()
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(10), 0, srv.stderr())
        self.assertGreaterEqual(time.monotonic() - t, 0.4)  # it waited for the nap
        log = srv.stderr()
        self.assertIn('background: slept 700 ms (ok)', log)
        self.assertLess(log.index('background: slept'), log.index('INFO stopped'), log)

    def test_dropped_at_the_shutdown_deadline(self):
        srv = self.start('--shutdown-timeout', '300')
        self.assertEqual(self.get(srv, '/background?ms=60000', 'POST').status, 202)
        t = time.monotonic()
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(10), 0, srv.stderr())
        self.assertLess(time.monotonic() - t, 3)
        self.assertIn('1 background coroutine(s) still running at the shutdown deadline: dropped',
                      srv.stderr())
        self.assertNotIn('background: slept', srv.stderr())


class ShutdownTest(Base):
    workers = 1
    server_args = ('--shutdown-timeout', '5000')

    def test_graceful_shutdown(self):
        srv = self.server
        idle = self.connect()
        idle.send(req('GET', '/'))
        self.assert_text(idle.read_final(), 'ok')
        busy = self.connect(timeout=10)
        busy.send(req('GET', '/sleep?ms=1000'))
        time.sleep(0.2)
        t_sig = time.monotonic()
        srv.signal(signal.SIGTERM)
        # The idle keep-alive connection is closed (without a response).
        self.assertEqual(idle.read_until_eof(3), b'')
        # A new connection is not served: refused, or accepted by the kernel and then dropped
        # without an answer.
        time.sleep(0.1)
        try:
            late = Conn(srv.port, timeout=8)
        except ConnectionRefusedError:
            late = None
        if late is not None:
            self.conns.append(late)
            try:
                late.send(req('GET', '/plaintext'))
            except OSError:
                pass
            try:
                r = late.read_response(timeout=8)
                self.fail('a connection made after SIGTERM was served: %r' % r)
            except (Closed, OSError):
                pass
        # The in-flight request completes.
        r = busy.read_final(timeout=8)
        self.assert_text(r, 'slept')
        # The process exits with status 0 within the shutdown deadline.
        status = srv.wait(max(0.1, t_sig + 5.0 + 1.0 - time.monotonic()))
        self.assertIsNotNone(status, 'server still running %.1f s after SIGTERM'
                             % (time.monotonic() - t_sig))
        self.assertEqual(status, 0, srv.stderr())
        with self.assertRaises(ConnectionRefusedError):
            Conn(srv.port, timeout=2).close()

    def test_shutdown_timeout_bounds_inflight(self):
        srv = self.start_server('--shutdown-timeout', '500')
        busy = self.connect(srv, timeout=10)
        busy.send(req('GET', '/sleep?ms=20000'))
        time.sleep(0.2)
        t_sig = time.monotonic()
        srv.signal(signal.SIGTERM)
        status = srv.wait(5)
        elapsed = time.monotonic() - t_sig
        self.assertIsNotNone(status, 'server ignored its 500 ms shutdown timeout')
        self.assertLess(elapsed, 3.0)
        try:
            data = busy.read_until_eof(3)
        except AssertionError:
            self.fail('in-flight connection left open after the server exited')
        self.assertNotIn(b'slept', data)

    def test_a_second_signal_ends_the_drain(self):
        srv = self.start_server('--shutdown-timeout', '60000')
        busy = self.connect(srv, timeout=30)
        busy.send(req('GET', '/sleep?ms=20000'))
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        time.sleep(0.3)  # draining: the request in flight holds the stop
        self.assertIsNone(srv.wait(0.2))
        t = time.monotonic()
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(5), 0, srv.stderr())
        self.assertLess(time.monotonic() - t, 5)
        self.assertIn('a second signal: closing the connections left now', srv.stderr())
        self.assertNotIn(b'slept', busy.read_until_eof(3))

    def test_sigterm_with_several_workers(self):
        srv = self.start_server(workers=3)
        conns = [self.connect(srv) for _ in range(6)]
        for i, c in enumerate(conns):
            c.send(req('GET', '/items/%d' % i))
            self.assert_text(c.read_final(), 'item %d' % i)
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(5), 0, srv.stderr())
        for c in conns:
            self.assertEqual(c.read_until_eof(2), b'')

    def test_a_new_connection_is_served_across_the_stop(self):
        # accepted before the signal, its request sent after: served (a restart under load
        # must not reset it), with Connection: close
        srv = self.start_server()
        fresh = self.connect(srv, timeout=10)
        time.sleep(0.2)  # accepted by the worker, as above
        srv.signal(signal.SIGTERM)
        time.sleep(0.2)
        fresh.send(req('GET', '/plaintext'))
        r = fresh.read_final(timeout=8)
        self.assert_text(r, 'Hello, World!')
        self.assertEqual(r.header('connection'), 'close')
        self.assertEqual(srv.wait(5), 0, srv.stderr())

    def test_a_silent_new_connection_does_not_hold_the_stop(self):
        srv = self.start_server()
        silent = self.connect(srv, timeout=10)
        time.sleep(0.2)
        t_sig = time.monotonic()
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(6), 0, srv.stderr())
        self.assertLess(time.monotonic() - t_sig, 4.0)  # its 2 s of grace, not the 10 s deadline
        self.assertEqual(silent.read_until_eof(2), b'')

    def test_sigint_also_stops(self):
        srv = self.start_server()
        self.assert_text(self.roundtrip(req('GET', '/'), server=srv), 'ok')
        srv.signal(signal.SIGINT)
        self.assertEqual(srv.wait(5), 0, srv.stderr())


def running(pid):
    """True while the process runs (a zombie, its exit not yet collected, does not)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


class UpgradeTest(Base):
    """SIGUSR2, nginx's binary upgrade: the server starts the program its argv[0] names now with
    its listening sockets handed over; once the new process listens, the old one stops accepting,
    finishes its requests and exits. Under load no connection is refused or reset, and a new
    program that fails to start leaves the old one serving."""
    autostart = False

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        # a copy the test can replace, as a deployment moves a new build into place
        self.app = os.path.join(self.tmp.name, 'testapp')
        with open(APP, 'rb') as src, open(self.app, 'wb') as dst:
            dst.write(src.read())
        os.chmod(self.app, 0o755)
        self.orphans = []

    def tearDown(self):
        # first: the new process holds the old one's stderr pipe open
        self.stop_orphans()
        super().tearDown()

    def stop_orphans(self):
        """The new process is not this test's child (its parent exits): stopped by pid."""
        for pid in self.orphans:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + STOP_TIMEOUT
            while time.monotonic() < deadline and running(pid):
                time.sleep(0.02)

    def replace_app(self, content):
        tmp = self.app + '.new'
        with open(tmp, 'wb') as f:
            f.write(content)
        os.chmod(tmp, 0o755)
        os.rename(tmp, self.app)

    def test_upgrade_under_load_drops_nothing(self):
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(notify.close)
        notify_path = os.path.join(self.tmp.name, 'notify')
        notify.bind(notify_path)
        notify.settimeout(10)
        srv = Server((), 2, app=self.app, env=dict(os.environ, NOTIFY_SOCKET=notify_path))
        self.servers.append(srv)
        old_pid = srv.proc.pid
        # systemd's Type=notify: ready, with this process as the service's main one
        self.assertEqual(notify.recv(256), b'READY=1\nMAINPID=%d' % old_pid)

        stop = threading.Event()
        lock = threading.Lock()
        seen, errors, count = {}, [], [0]

        def client(keep_alive):
            c = None
            deadline = time.monotonic() + 30  # bounded whatever happens
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    if c is None:
                        c = Conn(srv.port, timeout=10)
                    c.send(req('GET', '/pid', headers=() if keep_alive else
                               ('Connection: close',)))
                    r = c.read_final()
                    if r.status != 200:
                        raise AssertionError('status %d' % r.status)
                    with lock:
                        seen[int(r.body)] = seen.get(int(r.body), 0) + 1
                        count[0] += 1
                    if not keep_alive or (r.header('connection') or '').lower() == 'close':
                        c.close()
                        c = None
                except Exception as e:  # refused, reset, closed without an answer
                    with lock:
                        errors.append('%s: %s' % (type(e).__name__, e))
                    if c is not None:
                        c.close()
                    c = None
            if c is not None:
                c.close()

        threads = [threading.Thread(target=client, args=(i % 2 == 0,)) for i in range(8)]
        for t in threads:
            t.start()
        try:
            self.wait_for(lambda: count[0] >= 200, 'requests before the upgrade', count)
            srv.signal(signal.SIGUSR2)
            m = self.wait_log(srv, r'upgraded: process (\d+) serves now')
            new_pid = int(m.group(1))
            self.orphans.append(new_pid)
            self.assertNotEqual(new_pid, old_pid)
            # the new process tells systemd it is the service's main process now
            self.assertEqual(notify.recv(256), b'READY=1\nMAINPID=%d' % new_pid)
            self.assertEqual(srv.wait(10), 0, srv.stderr())
            before = count[0]
            self.wait_for(lambda: count[0] >= before + 200, 'requests after the upgrade', count)
        finally:
            stop.set()
            for t in threads:
                t.join(35)
        self.assertEqual(errors, [], 'requests lost across the upgrade:\n' + srv.stderr())
        self.assertIn(old_pid, seen)
        self.assertIn(new_pid, seen)
        self.assertIn('upgrade: serving on the sockets of process %d' % old_pid, srv.stderr())
        # the old process left as an upgraded one does: no STOPPING=1 for the service
        notify.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            notify.recv(256)
        # the new one serves alone now, and stops as any server does
        r = self.roundtrip(req('GET', '/pid'), server=srv)
        self.assert_text(r, str(new_pid))
        os.kill(new_pid, signal.SIGTERM)
        notify.settimeout(10)
        self.assertEqual(notify.recv(256), b'STOPPING=1')

    def wait_for(self, cond, what, count):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not cond():
            time.sleep(0.01)
        self.assertTrue(cond(), '%s: only %d within 20 s' % (what, count[0]))

    def test_a_new_program_that_fails_leaves_the_old_serving(self):
        srv = Server((), 1, app=self.app)
        self.servers.append(srv)
        self.replace_app(b'#!/bin/sh\necho "new build: broken" >&2\nexit 3\n')
        srv.signal(signal.SIGUSR2)
        self.wait_log(srv, r'upgrade failed: the new process exited with status 3')
        self.assertIn('new build: broken', srv.stderr())
        r = self.roundtrip(req('GET', '/pid'), server=srv)
        self.assert_text(r, str(srv.proc.pid))
        # and a later upgrade, once the program is right again, goes through
        with open(APP, 'rb') as f:
            self.replace_app(f.read())
        srv.signal(signal.SIGUSR2)
        m = self.wait_log(srv, r'upgraded: process (\d+) serves now')
        self.orphans.append(int(m.group(1)))
        self.assertEqual(srv.wait(10), 0, srv.stderr())
        self.assert_text(self.roundtrip(req('GET', '/pid'), server=srv), m.group(1))

    def test_a_program_that_is_not_there(self):
        srv = Server((), 1, app=self.app)
        self.servers.append(srv)
        os.unlink(self.app)
        srv.signal(signal.SIGUSR2)
        self.wait_log(srv, r'SIGUSR2: .*testapp is not an executable file .*: no upgrade')
        self.assert_text(self.roundtrip(req('GET', '/pid'), server=srv), str(srv.proc.pid))


class LargeResponseTest(Base):
    def test_big_read_slowly(self):
        c = self.connect(timeout=10, rcvbuf=8192)
        c.send(req('GET', '/big') + req('GET', '/items/after'))
        time.sleep(0.5)  # let the server fill the socket buffers and wait for writability
        # Read in small pieces with pauses.
        deadline = time.monotonic() + 30
        for _ in range(100000):
            c.sock.settimeout(min(5, max(0.01, deadline - time.monotonic())))
            data = c.sock.recv(1024)
            if not data:
                break
            c.buf += data
            if b'\r\n\r\n' in c.buf:
                head_end = c.buf.index(b'\r\n\r\n') + 4
                if len(c.buf) - head_end >= 200000:
                    break
            time.sleep(0.003)
        r = c.read_final(timeout=10)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('Content-Length'), '200000')
        self.assertEqual(len(r.body), 200000)
        self.assertEqual(r.body, b'x' * 200000)
        self.assert_text(c.read_final(), 'item after')

    def test_big_several_times(self):
        c = self.connect(timeout=10)
        c.send(req('GET', '/big') * 3)
        for _ in range(3):
            r = c.read_final(timeout=10)
            self.assertEqual(r.body, b'x' * 200000)


class WriteTimeoutTest(Base):
    server_args = ('--write-timeout', '500')

    def test_client_not_reading_is_dropped(self):
        # 40 pipelined 200 KB responses (8 MB) to a client that reads nothing for 3 s: the
        # response in progress cannot be written within 500 ms, so the server closes.
        n = 40
        c = self.connect(timeout=10, rcvbuf=8192)
        c.send(req('GET', '/big') * n)
        time.sleep(3.0)
        total = 0
        closed = False
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            c.sock.settimeout(max(0.01, min(5, deadline - time.monotonic())))
            try:
                data = c.sock.recv(1 << 20)
            except ConnectionResetError:
                closed = True
                break
            except socket.timeout:
                break
            if not data:
                closed = True
                break
            total += len(data)
        self.assertTrue(closed, 'connection still open after %d bytes' % total)
        self.assertLess(total, n * 200000, 'every response was written despite the timeout')

    def test_slow_but_steady_reader_is_served(self):
        # A reader that keeps draining is not cut (each response is written well within 500 ms).
        c = self.connect(timeout=10)
        c.send(req('GET', '/big') * 3)
        for _ in range(3):
            self.assertEqual(c.read_final(timeout=10).body, b'x' * 200000)


# -------------------------------------------------------------------------------------------------
# Command-line options and logging
# -------------------------------------------------------------------------------------------------

class LoggingTest(Base):
    autostart = False

    def test_json_access_log(self):
        srv = self.start_server('--access-log', '--log-format', 'json', '--log-level', 'info')
        for line in srv.log_lines():
            json.loads(line.decode('utf-8'))  # every record is one JSON object per line
        before = len(srv.log_lines())
        self.assert_text(self.roundtrip(req('GET', '/plaintext?from=test'), server=srv),
                         'Hello, World!')
        deadline = time.monotonic() + 3
        found = None
        while time.monotonic() < deadline and found is None:
            for line in srv.log_lines()[before:]:
                if b'/plaintext' in line:
                    found = line
            time.sleep(0.05)
        self.assertIsNotNone(found, 'no access-log record for the request; stderr:\n'
                             + srv.stderr())
        rec = json.loads(found.decode('utf-8'))
        self.assertEqual(rec.get('level'), 'info', rec)
        self.assertEqual({k: rec.get(k) for k in ('msg', 'method', 'route', 'target', 'status',
                                                  'client', 'user')},
                         {'msg': 'request', 'method': 'GET', 'route': '/plaintext',
                          'target': '/plaintext?from=test', 'status': '200',
                          'client': '127.0.0.1', 'user': '-'}, rec)
        self.assertRegex(rec.get('request_id', ''), r'^[0-9a-f]{32}$')
        self.assertRegex(rec.get('duration_ms', ''), r'^\d+\.\d{3}$')

    def test_settings_from_the_environment(self):
        # CADRE_* gives serve's settings; the command line wins over it
        env = dict(os.environ, CADRE_LOG_FORMAT='json', CADRE_ACCESS_LOG='1',
                   CADRE_NO_REQUEST_IDS='yes', CADRE_WORKERS='1')
        srv = Server(('--workers', '2'), 2, env=env)
        self.servers.append(srv)
        for line in srv.log_lines():
            json.loads(line.decode('utf-8'))  # the format the environment asked for
        self.assertIn(b'(2 workers', b''.join(srv.log_lines()))  # the flag's, not the env's
        r = self.roundtrip(req('GET', '/plaintext'), server=srv)
        self.assertIsNone(r.header('X-Request-ID'))
        # config: what serve would use, and from where, the secrets hidden
        out = subprocess.run([APP, 'config', '--port', '9999'], capture_output=True, text=True,
                             timeout=30, env=dict(env, CADRE_DATABASE_URL='postgresql://u:pw@db/x',
                                                  CADRE_SECRET_KEY='k' * 40))
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = {l.split()[0]: l for l in out.stdout.splitlines()}
        for line in out.stdout.splitlines():  # every setting with its value, then its source
            self.assertRegex(line, r'^CADRE_[A-Z_]+ +\S')
        self.assertEqual(len([l for l in lines.values() if ' # ' in l and ', --' in l]), 17)
        self.assertRegex(lines['CADRE_PORT'], r'^CADRE_PORT +9999 +# command line, --port$')
        self.assertRegex(lines['CADRE_LOG_FORMAT'], r' json +# environment, --log-format$')
        self.assertRegex(lines['CADRE_HOST'], r' 127\.0\.0\.1 +# default, --host$')
        self.assertIn('postgresql://u:********@db/x', lines['CADRE_DATABASE_URL'])
        self.assertNotIn('pw', out.stdout)
        self.assertNotIn('k' * 40, out.stdout)
        # a bad value: refused at start-up, naming the setting
        for name, value, said in (('CADRE_WORKERS', 'lots', 'needs a number from 0 to 1024'),
                                  ('CADRE_ACCESS_LOG', 'maybe', '1, true or yes, or 0, false or no'),
                                  ('CADRE_LOG_LEVEL', 'loud', 'debug, info, warn, error or off'),
                                  ('CADRE_HEADER_TIMEOUT', '0', 'not a number from 1 to')):
            p = subprocess.run([APP, 'serve', '--port', '0'], capture_output=True, text=True,
                               timeout=30, env=dict(os.environ, **{name: value}))
            self.assertEqual(p.returncode, 2, (name, p.stderr))
            self.assertIn(f'error: {name}={value} (environment)', p.stderr)
            self.assertIn(said, p.stderr)

    def test_settings_from_a_config_file(self):
        # CADRE_CONFIG: NAME=value lines; the environment wins over the file
        with tempfile.NamedTemporaryFile('w', suffix='.env', delete=False) as f:
            f.write('# the shop\nCADRE_LOG_FORMAT="json"\nexport CADRE_NO_REQUEST_IDS=1\n'
                    '\nCADRE_WORKERS=3\nCADRE_SECRET_KEY=' + 's' * 40 + '\n')
            path = f.name
        self.addCleanup(os.unlink, path)
        env = dict(os.environ, CADRE_CONFIG=path, CADRE_WORKERS='1')
        out = subprocess.run([APP, 'config'], capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = {l.split()[0]: l for l in out.stdout.splitlines()}
        self.assertRegex(lines['CADRE_LOG_FORMAT'], r' json +# config file, --log-format$')
        self.assertRegex(lines['CADRE_WORKERS'], r' 1 +# environment, --workers$')
        self.assertIn('******** # config file, hidden', lines['CADRE_SECRET_KEY'])
        self.assertNotIn('s' * 40, out.stdout)
        srv = Server((), 1, env=env)
        self.servers.append(srv)
        for line in srv.log_lines():
            json.loads(line.decode('utf-8'))
        self.assertIsNone(self.roundtrip(req('GET', '/plaintext'), server=srv).header('X-Request-ID'))
        # a line that is not a setting, and a file that is not there: refused, said where
        with open(path, 'a') as f:
            f.write('HOME=/tmp\n')
        for config, said in ((path, f'{path}:7: not a setting'),
                             (path + '.gone', 'CADRE_CONFIG: cannot read ' + path + '.gone')):
            p = subprocess.run([APP, 'serve', '--port', '0'], capture_output=True, text=True,
                               timeout=30, env=dict(os.environ, CADRE_CONFIG=config))
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(said, p.stderr)
            self.assertIn('has errors (said above): nothing done', p.stderr)

    def test_plain_log_format(self):
        # "2026-11-26T14:00:00.123Z INFO message"
        srv = self.start_server('--log-level', 'info', '--log-format', 'plain')
        line = [l for l in srv.log_lines() if LISTEN_RE.search(l)][0].decode('utf-8', 'replace')
        self.assertRegex(line, r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z INFO ')
        self.assert_text(self.roundtrip(req('GET', '/'), server=srv), 'ok')


def main():
    global APP
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s PATH/TO/testapp [unittest args]\n' % sys.argv[0])
        return 2
    APP = os.path.abspath(sys.argv[1])
    if not os.access(APP, os.X_OK):
        sys.stderr.write('%s: not executable\n' % APP)
        return 2
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2, exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
