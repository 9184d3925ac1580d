#!/usr/bin/env python3
"""Form bodies over real sockets: typed routes with .form = true (tests/integration/formsapp.c).

Usage: forms_test.py PATH/TO/formsapp [unittest options]

One server for the whole run (`formsapp serve --port 0 --max-body 8000000`), with $TMPDIR set to
a fresh directory so that the test can see every upload's temporary file come and go. Python 3
stdlib only; multipart bodies are written by hand, byte for byte.
"""

import http.client
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

APP = None
SERVER = None
TMPDIR = None
LISTEN_RE = re.compile(rb'listening on http://127\.0\.0\.1:(\d+)')


class Server:
    def __init__(self, args, env):
        self.lines = []
        self.port = None
        self.ready = threading.Event()
        self.proc = subprocess.Popen([APP, 'serve', '--host', '127.0.0.1', '--port', '0',
                                      '--workers', '2'] + args,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        threading.Thread(target=self._drain, daemon=True).start()
        if not self.ready.wait(10):
            self.stop()
            raise AssertionError('server did not start: ' + b''.join(self.lines).decode())

    def _drain(self):
        for line in iter(self.proc.stderr.readline, b''):
            self.lines.append(line)
            m = LISTEN_RE.search(line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self.ready.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def request(method, path, body=b'', content_type=None, timeout=30):
    conn = http.client.HTTPConnection('127.0.0.1', SERVER.port, timeout=timeout)
    try:
        headers = {}
        if content_type is not None:
            headers['Content-Type'] = content_type
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


BOUNDARY = '----cadreFormBoundary7MA4YWxkTrZu0gW'
MP = 'multipart/form-data; boundary=' + BOUNDARY


def multipart(parts, boundary=BOUNDARY):
    """parts: (name, value bytes/str, filename or None, content type or None)."""
    out = b''
    for name, value, filename, ctype in parts:
        out += b'--' + boundary.encode() + b'\r\n'
        cd = 'Content-Disposition: form-data; name="%s"' % name
        if filename is not None:
            cd += '; filename="%s"' % filename
        out += cd.encode() + b'\r\n'
        if ctype:
            out += b'Content-Type: ' + ctype.encode() + b'\r\n'
        out += b'\r\n' + (value.encode() if isinstance(value, str) else value) + b'\r\n'
    return out + b'--' + boundary.encode() + b'--\r\n'


def tmp_files():
    return sorted(os.listdir(TMPDIR))


class FormsTest(unittest.TestCase):

    def assert_no_uploads_left(self):
        deadline = time.monotonic() + 2
        while tmp_files() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(tmp_files(), [])

    def test_urlencoded_validated_into_struct(self):
        status, headers, body = request(
            'POST', '/signup', b'username=ann+lee&age=30&interests=go&interests=c%2B%2B&newsletter=on',
            'application/x-www-form-urlencoded')
        self.assertEqual(status, 201, body)
        self.assertEqual(headers['content-type'], 'application/json')
        self.assertEqual(json.loads(body), {'username': 'ann lee', 'age': 30,
                                            'interests': ['go', 'c++'], 'newsletter': True,
                                            'plan': 'free'})

    def test_urlencoded_422_per_field(self):
        status, _, body = request('POST', '/signup', b'username=al&age=12&plan=gold&newsletter=',
                                  'application/x-www-form-urlencoded; charset=utf-8')
        self.assertEqual(status, 422, body)
        detail = json.loads(body)['detail']
        self.assertEqual([(d['type'], d['loc']) for d in detail], [
            ('string_too_short', ['body', 'username']),
            ('greater_than_equal', ['body', 'age']),
            ('enum', ['body', 'plan']),
        ])
        self.assertEqual(detail[1]['input'], '12')
        self.assertEqual(detail[1]['msg'], 'Input should be greater than or equal to 13')

    def test_missing_fields(self):
        status, _, body = request('POST', '/signup', b'', 'application/x-www-form-urlencoded')
        self.assertEqual(status, 422)
        self.assertEqual([d['loc'] for d in json.loads(body)['detail']],
                         [['body', 'username'], ['body', 'age']])

    def test_json_still_accepted_and_forms_refused_without_form_flag(self):
        status, _, body = request('POST', '/signup', json.dumps({'username': 'bob', 'age': 20}),
                                  'application/json')
        self.assertEqual(status, 201, body)
        status, _, body = request('POST', '/signup-json', b'username=bob&age=20',
                                  'application/x-www-form-urlencoded')
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(body)['detail'][0]['type'], 'model_attributes_type')

    def test_multipart_text_fields(self):
        body = multipart([('username', 'zoë', None, None), ('age', '44', None, None),
                          ('interests', 'a', None, None), ('interests', 'b', None, None)])
        status, _, out = request('POST', '/signup', body, MP)
        self.assertEqual(status, 201, out)
        self.assertEqual(json.loads(out)['username'], 'zoë')
        self.assertEqual(json.loads(out)['interests'], ['a', 'b'])
        body = multipart([('username', 'zoe', None, None), ('age', 'old', None, None)])
        status, _, out = request('POST', '/signup', body, MP)
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(out)['detail'][0]['loc'], ['body', 'age'])
        self.assertEqual(json.loads(out)['detail'][0]['type'], 'int_parsing')

    def test_file_upload_arrives_intact(self):
        rnd = random.Random(7)
        data = bytes(rnd.randrange(256) for _ in range(100000))
        # CRLFs and near-delimiters inside the data
        data = (b'\r\n--' + BOUNDARY[:-1].encode() + b'\r\n' + data + b'\r\n--'
                + BOUNDARY.encode()[:10] + b'\r\n\r\n')
        body = multipart([('title', 'a report', None, None),
                          ('doc', data, 'C:\\Users\\me\\r\xe9sum\xe9.pdf', 'application/pdf'),
                          ('attachments', b'one', 'a.txt', 'text/plain'),
                          ('attachments', b'', 'b.txt', None)])
        status, headers, out = request('POST', '/upload', body, MP)
        self.assertEqual(status, 200, out[:200])
        self.assertEqual(out, data)
        self.assertEqual(headers['content-type'], 'application/pdf')
        self.assertEqual(headers['x-size'], str(len(data)))
        self.assertEqual(headers['x-title'], 'a report')
        self.assertEqual(headers['x-attachments'], '2')
        self.assertEqual(headers['x-filename'].encode('latin-1').decode('utf-8'), 'résumé.pdf')
        self.assertTrue(headers['x-path'].startswith(TMPDIR + '/cadre-upload-'), headers['x-path'])
        self.assertFalse(os.path.exists(headers['x-path']))
        self.assert_no_uploads_left()

    def test_large_upload(self):
        data = os.urandom(5 * 1024 * 1024)
        body = multipart([('title', 't', None, None), ('doc', data, 'big.bin', None)])
        status, headers, out = request('POST', '/upload', body, MP, timeout=60)
        self.assertEqual(status, 200)
        self.assertEqual(headers['content-type'], 'text/plain')  # RFC 7578's default
        self.assertTrue(out == data, 'the 5 MiB upload came back different')
        self.assert_no_uploads_left()

    def test_upload_limits_and_malformed(self):
        body = multipart([('title', 't', None, None), ('doc', b'x' * 1001, 'f.bin', None)])
        status, _, out = request('POST', '/small-upload', body, MP)
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(out), {'detail': 'a file is larger than 1000 bytes'})
        body = multipart([('title', 't', None, None), ('doc', b'x' * 1000, 'f.bin', None)])
        status, _, out = request('POST', '/small-upload', body, MP)
        self.assertEqual(status, 200)
        # truncated: no closing boundary
        body = multipart([('title', 't', None, None), ('doc', b'abc', 'f.bin', None)])[:-10]
        status, _, out = request('POST', '/upload', body, MP)
        self.assertEqual(status, 400)
        self.assertIn('closing boundary', json.loads(out)['detail'])
        status, _, out = request('POST', '/upload', body, 'multipart/form-data')
        self.assertEqual(status, 400)
        # a required file not chosen (empty filename) and text where a file goes
        body = multipart([('title', 't', None, None), ('doc', b'', '', 'application/octet-stream'),
                          ('attachments', 'text', None, None)])
        status, _, out = request('POST', '/upload', body, MP)
        self.assertEqual(status, 422)
        self.assertEqual([(d['type'], d['loc']) for d in json.loads(out)['detail']],
                         [('missing', ['body', 'doc']), ('value_error', ['body', 'attachments', 0])])
        self.assert_no_uploads_left()

    def test_openapi_lists_form_media_types(self):
        status, _, out = request('GET', '/openapi.json')
        self.assertEqual(status, 200)
        doc = json.loads(out)
        signup = doc['paths']['/signup']['post']['requestBody']['content']
        self.assertEqual(sorted(signup), ['application/json', 'application/x-www-form-urlencoded',
                                          'multipart/form-data'])
        self.assertEqual(list(doc['paths']['/signup-json']['post']['requestBody']['content']),
                         ['application/json'])
        self.assertEqual(list(doc['paths']['/upload']['post']['requestBody']['content']),
                         ['multipart/form-data'])
        self.assertEqual(doc['components']['schemas']['UploadForm']['properties']['doc'],
                         {'type': 'string', 'format': 'binary', 'title': 'Doc'})


class StreamedUploadTest(unittest.TestCase):
    """A server with the default 1 MiB body limit: multipart bodies of form routes are decoded as
    they arrive (their files go to disk), so an upload may exceed that limit up to the route's
    file limits; any other body is still held to it."""

    @classmethod
    def setUpClass(cls):
        global SERVER
        cls.saved = SERVER
        SERVER = cls.server = Server([], dict(os.environ, TMPDIR=TMPDIR))

    @classmethod
    def tearDownClass(cls):
        global SERVER
        cls.server.stop()
        SERVER = cls.saved

    def test_upload_beyond_the_body_limit_is_streamed(self):
        data = os.urandom(6 * 1024 * 1024 + 17)
        body = multipart([('title', 't', None, None), ('doc', data, 'big.bin', None)])
        status, headers, out = request('POST', '/upload', body, MP, timeout=60)
        self.assertEqual(status, 200, out[:200])
        self.assertTrue(out == data, 'the streamed upload came back different')
        self.assertFalse(os.path.exists(headers['x-path']))
        # the same bytes chunked (no Content-Length) take the same path
        conn = http.client.HTTPConnection('127.0.0.1', SERVER.port, timeout=60)
        try:
            conn.putrequest('POST', '/upload')
            conn.putheader('Content-Type', MP)
            conn.putheader('Transfer-Encoding', 'chunked')
            conn.endheaders()
            for i in range(0, len(body), 65536):
                piece = body[i:i + 65536]
                conn.send(b'%x\r\n' % len(piece) + piece + b'\r\n')
            conn.send(b'0\r\n\r\n')
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertTrue(r.read() == data, 'the chunked upload came back different')
        finally:
            conn.close()

    def test_other_bodies_keep_the_limit(self):
        big = 'title=' + 'x' * (1024 * 1024 + 10)
        status, _, out = request('POST', '/signup', big.encode(), 'application/x-www-form-urlencoded')
        self.assertEqual(status, 413)
        # a file over the route's limit is refused while it arrives
        body = multipart([('title', 't', None, None), ('doc', b'x' * 5000, 'f.bin', None)])
        status, _, out = request('POST', '/small-upload', body, MP)
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(out), {'detail': 'a file is larger than 1000 bytes'})


def read_response(sock, timeout=5):
    """One response from a raw socket: (status, headers dict lower-cased, body)."""
    sock.settimeout(timeout)
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError('connection closed before a response: %r' % data)
        data += chunk
    head, rest = data.split(b'\r\n\r\n', 1)
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(':', 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get('content-length', '0'))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:n], rest[n:]


def closed_by_server(sock, timeout=5):
    """True when the server ends the connection (EOF, or a reset) within timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class GuardBeforeBodyTest(unittest.TestCase):
    """A request refused by a guard or a middleware is refused before its body is read: an upload
    sent to a protected route leaves nothing on disk, and `Expect: 100-continue` gets its answer
    instead of a 100 (formsapp's /private group, its /slow group, and its blocking middleware)."""

    def setUp(self):
        self.body = multipart([('title', 't', None, None),
                               ('doc', os.urandom(3 * 1024 * 1024), 'big.bin', None)])

    def head(self, path, extra=()):
        lines = ['POST %s HTTP/1.1' % path, 'Host: x', 'Content-Type: ' + MP,
                 'Content-Length: %d' % len(self.body)] + list(extra)
        return ('\r\n'.join(lines) + '\r\n\r\n').encode()

    def connect(self):
        s = socket.create_connection(('127.0.0.1', SERVER.port), timeout=5)
        self.addCleanup(s.close)
        return s

    def assert_refused_before_body(self, path, extra, status):
        # with Expect: 100-continue the answer comes instead of the 100, and the body never
        s = self.connect()
        s.sendall(self.head(path, ['Expect: 100-continue'] + list(extra)))
        got, headers, body, _ = read_response(s)
        self.assertEqual(got, status, body)
        self.assertEqual(headers.get('connection'), 'close')
        self.assertEqual(tmp_files(), [])
        self.assertTrue(closed_by_server(s))
        # without it, a client that sends the body at once is answered at its first bytes: the
        # file part has begun, and still nothing is written
        s = self.connect()
        s.sendall(self.head(path, extra) + self.body[:256 * 1024])
        got, headers, body, _ = read_response(s)
        self.assertEqual(got, status, body)
        self.assertEqual(tmp_files(), [])
        self.assertTrue(closed_by_server(s))

    def test_guard_refuses_an_upload_before_its_body(self):
        self.assert_refused_before_body('/private/upload', [], 401)

    def test_guard_refuses_a_plain_route_before_its_body(self):
        self.assert_refused_before_body('/private/echo', [], 401)

    def test_middleware_refuses_before_the_body(self):
        self.assert_refused_before_body('/private/upload',
                                        ['Authorization: Bearer open-sesame', 'X-Block: 1'], 403)

    def upload_with_continue(self, path, extra=()):
        s = self.connect()
        s.sendall(self.head(path, ['Expect: 100-continue'] + list(extra)))
        got, _, _, rest = read_response(s)
        self.assertEqual(got, 100)
        self.assertEqual(rest, b'')
        s.sendall(self.body)
        got, headers, out, _ = read_response(s, timeout=30)
        self.assertEqual(got, 200, out[:200])
        self.assertEqual(headers['x-size'], str(3 * 1024 * 1024))
        self.assertTrue(self.body.find(out) > 0, 'the upload came back different')
        # the connection stays open for the next request
        s.sendall(b'POST /signup-json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}')
        got, _, _, _ = read_response(s)
        self.assertEqual(got, 422)

    def test_guard_lets_in_then_the_body_is_read(self):
        self.upload_with_continue('/private/upload', ['Authorization: Bearer open-sesame'])

    def test_a_guard_that_waits_then_the_body(self):
        # the guard suspends its request; the body is asked for when it resumes
        self.upload_with_continue('/slow/upload')

    def test_plain_route_reads_a_body_sent_in_pieces(self):
        s = self.connect()
        s.sendall(b'POST /slow/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
                  b'5\r\nhello\r\n')
        time.sleep(0.05)  # the request runs its guard meanwhile; the rest is read when asked
        s.sendall(b'6\r\n world\r\n0\r\n\r\n')
        got, _, out, _ = read_response(s)
        self.assertEqual((got, out), (200, b'hello world'))

    def test_client_gone_mid_body(self):
        for path in ('/slow/upload', '/private/upload'):
            s = socket.create_connection(('127.0.0.1', SERVER.port), timeout=5)
            s.sendall(self.head(path, ['Authorization: Bearer open-sesame'])
                      + self.body[:512 * 1024])
            s.close()
        # the server is well, and the partial uploads are gone
        status, _, _ = request('POST', '/signup-json', b'{}', 'application/json')
        self.assertEqual(status, 422)
        deadline = time.monotonic() + 5
        while tmp_files() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(tmp_files(), [])


def main():
    global APP, SERVER, TMPDIR
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s PATH/TO/formsapp [unittest args]\n' % sys.argv[0])
        return 2
    APP = os.path.abspath(sys.argv[1])
    TMPDIR = tempfile.mkdtemp(prefix='cadre-forms-')
    env = dict(os.environ, TMPDIR=TMPDIR)
    SERVER = Server(['--max-body', '8000000'], env)
    try:
        prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2, exit=False)
        ok = prog.result.wasSuccessful()
    finally:
        SERVER.stop()
        left = tmp_files()
        shutil.rmtree(TMPDIR, ignore_errors=True)
    if left:
        sys.stderr.write('temporary files left behind: %r\n' % left)
        return 1
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
