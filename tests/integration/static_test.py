#!/usr/bin/env python3
"""Static files (include/cadre/static.h) over real sockets.

Usage: static_test.py PATH/TO/staticapp [unittest options]

A directory tree is built in a temporary directory, with a secret file *beside* the served root,
and served by `staticapp` ($STATIC_ROOT): "/" with the defaults, "/static" with pre-compressed
variants and max-age, "/dot" with dotfiles and no index. The server and raw-socket client come
from http_test.py. Expectations follow RFC 9110 and the contract in cadre/static.h.
"""

import email.utils
import gzip
import hashlib
import os
import re
import shutil
import socket
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_test as h  # noqa: E402
from http_test import Closed, req  # noqa: E402

SECRET = b'TOP-SECRET-CONTENT-beside-the-root'
BIG_SIZE = 12 * 1024 * 1024
HELLO = b'hello world\n'
ETAG_RE = re.compile(r'^"[!#-~]+"$')  # strong: no W/

TREE = None  # the temporary directory: TREE/root is served, TREE/secret.txt is not


def build_tree():
    top = tempfile.mkdtemp(prefix='cadre-static-')
    root = os.path.join(top, 'root')

    def put(rel, data, base=root):
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    put('secret.txt', SECRET, base=top)
    put('rootx/secret.txt', SECRET, base=top)  # a sibling whose name extends the root's
    put('hello.txt', HELLO)
    put('index.html', b'<!doctype html><title>root</title>')
    put('page.html', b'<p>page</p>')
    put('style.css', b'body{color:red}')
    put('app.mjs', b'export default 1;')
    put('data.json', b'{"a":1}')
    put('pic.png', b'\x89PNG\r\n\x1a\n' + bytes(range(256)))
    put('photo.JPG', b'\xff\xd8\xff\xe0jpeg')
    put('logo.svg', b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    put('mod.wasm', b'\x00asm\x01\x00\x00\x00')
    put('font.woff2', b'wOF2')
    put('notes.unknownext', b'???')
    put('README', b'no extension')
    put('empty.txt', b'')
    put('sub/index.html', b'<p>sub index</p>')
    put('sub/inner.txt', b'inner')
    put('noindex/file.txt', b'x')
    put('nested/deep/er/file.txt', b'deep')
    put('.env', b'DOTENV=1')
    put('.git/config', b'[core]')
    text = (b'The quick brown fox jumps over the lazy dog. ' * 400)
    put('comp.js', text)
    put('comp.js.gz', gzip.compress(text, mtime=0))
    put('comp.js.br', b'BROTLI-BYTES(stand-in)')
    put('gzonly.css', text)
    put('gzonly.css.gz', gzip.compress(text, mtime=0))
    put('stale.txt', b'fresh original')
    put('stale.txt.gz', gzip.compress(b'stale compressed', mtime=0))
    old = time.time() - 86400
    os.utime(os.path.join(root, 'stale.txt.gz'), (old, old))
    put('big.bin', os.urandom(BIG_SIZE))
    for name, target in [('inlink.txt', 'hello.txt'), ('dirlink', 'sub'),
                         ('out.txt', '../secret.txt'), ('up', '..'),
                         ('sideways', '../rootx/secret.txt'),
                         ('sub/back.txt', '../hello.txt'), ('sub/escape.txt', '../../secret.txt'),
                         ('abs.txt', os.path.join(top, 'secret.txt')),
                         ('abs_inside.txt', os.path.join(root, 'hello.txt')),
                         ('loop', 'loop')]:
        os.symlink(target, os.path.join(root, name))
    os.mkfifo(os.path.join(root, 'fifo'))
    return top


def raw_get(target, headers=()):
    return req('GET', target, headers)


class StaticBase(h.Base):
    workers = 1

    def setUp(self):
        os.environ['STATIC_ROOT'] = os.path.join(TREE, 'root')
        super().setUp()

    def tearDown(self):
        super().tearDown()  # stops the server: a sanitizer build reports leaks at exit
        for srv in self.servers:
            err = srv.stderr()
            for marker in ('Sanitizer', 'runtime error:'):
                self.assertNotIn(marker, err, 'server stderr:\n' + err[-4000:])

    def get(self, target, headers=(), method='GET'):
        return self.roundtrip(req(method, target, headers), method=method)

    def assert_not_found(self, r, what):
        self.assertEqual(r.status, 404, '%s: %r' % (what, r))
        self.assertEqual(r.json(), {'detail': 'Not Found'}, what)
        self.assertNotIn(SECRET, r.body, what)

    def file(self, rel):
        with open(os.path.join(TREE, 'root', rel), 'rb') as f:
            return f.read()


class Content(StaticBase):
    def test_types_and_bodies(self):
        cases = [
            ('/hello.txt', 'text/plain; charset=utf-8'),
            ('/page.html', 'text/html; charset=utf-8'),
            ('/style.css', 'text/css; charset=utf-8'),
            ('/app.mjs', 'text/javascript; charset=utf-8'),
            ('/data.json', 'application/json'),
            ('/pic.png', 'image/png'),
            ('/photo.JPG', 'image/jpeg'),
            ('/logo.svg', 'image/svg+xml'),
            ('/mod.wasm', 'application/wasm'),
            ('/font.woff2', 'font/woff2'),
            ('/notes.unknownext', 'application/octet-stream'),
            ('/README', 'application/octet-stream'),
            ('/nested/deep/er/file.txt', 'text/plain; charset=utf-8'),
        ]
        c = self.connect()
        for target, ctype in cases:  # all on one keep-alive connection
            c.send(raw_get(target))
            r = c.read_final()
            self.assertEqual(r.status, 200, (target, r))
            self.assertEqual(r.body, self.file(target[1:]), target)
            self.assertEqual(r.header('Content-Type'), ctype, target)
            self.assertEqual(r.header('Content-Length'), str(len(r.body)), target)
            self.assertEqual(r.header('Accept-Ranges'), 'bytes', target)
            self.assertEqual(r.header('X-Content-Type-Options'), 'nosniff', target)
            self.assertRegex(r.header('ETag') or '', ETAG_RE, target)
            lm = r.header('Last-Modified') or ''
            self.assertRegex(lm, h.IMF_FIXDATE_RE, target)
            mtime = int(os.stat(os.path.join(TREE, 'root', target[1:])).st_mtime)
            self.assertEqual(email.utils.parsedate_to_datetime(lm).timestamp(), mtime, target)
            self.assertIsNone(r.header('Cache-Control'), target)  # "/": max_age 0
            self.assertIsNone(r.header('Vary'), target)

    def test_options_of_each_mount(self):
        r = self.get('/static/hello.txt')
        self.assertEqual(r.body, HELLO)
        self.assertEqual(r.header('Cache-Control'), 'public, max-age=3600')
        self.assertEqual(r.header('Vary'), 'Accept-Encoding')
        r = self.get('/dot/hello.txt')
        self.assertEqual(r.header('Cache-Control'), 'no-cache')
        # dotfiles only where enabled
        self.assertEqual(self.get('/dot/.env').body, b'DOTENV=1')
        self.assertEqual(self.get('/dot/.git/config').body, b'[core]')
        self.assert_not_found(self.get('/.env'), '/.env')
        self.assert_not_found(self.get('/static/.git/config'), '/static/.git/config')

    def test_etag_changes_with_the_file(self):
        path = os.path.join(TREE, 'root', 'changing.txt')
        with open(path, 'wb') as f:
            f.write(b'one')
        try:
            e1 = self.get('/changing.txt').header('ETag')
            with open(path, 'wb') as f:
                f.write(b'two!')
            r = self.get('/changing.txt')
            self.assertEqual(r.body, b'two!')
            self.assertNotEqual(r.header('ETag'), e1)
        finally:
            os.unlink(path)

    def test_head(self):
        c = self.connect()
        c.send(req('HEAD', '/style.css'))
        r = c.read_final('HEAD')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b'')
        self.assertEqual(r.header('Content-Length'), str(len(self.file('style.css'))))
        self.assertEqual(r.header('Content-Type'), 'text/css; charset=utf-8')
        self.assertRegex(r.header('ETag') or '', ETAG_RE)
        # HEAD ignores Range; nothing of a body was sent: the next answer parses cleanly
        c.send(req('HEAD', '/big.bin', ['Range: bytes=0-9']))
        r = c.read_final('HEAD')
        self.assertEqual((r.status, r.header('Content-Length')), (200, str(BIG_SIZE)), r)
        c.send(raw_get('/hello.txt'))
        self.assertEqual(c.read_final().body, HELLO)

    def test_empty_file(self):
        r = self.get('/empty.txt')
        self.assertEqual((r.status, r.body, r.header('Content-Length')), (200, b'', '0'), r)
        r = self.get('/empty.txt', ['Range: bytes=0-'])
        self.assertEqual(r.status, 416, r)
        self.assertEqual(r.header('Content-Range'), 'bytes */0')

    def test_directories(self):
        self.assertEqual(self.get('/').body, self.file('index.html'))
        self.assertEqual(self.get('/static/').body, self.file('index.html'))
        r = self.get('/sub/')
        self.assertEqual((r.status, r.header('Content-Type')), (200, 'text/html; charset=utf-8'))
        self.assertEqual(r.body, b'<p>sub index</p>')
        r = self.get('/static/sub?v=2')
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.header('Location'), '/static/sub/?v=2')
        r = self.get('/static')
        self.assertEqual((r.status, r.header('Location')), (301, '/static/'), r)
        self.assert_not_found(self.get('/noindex/'), 'directory without index')
        self.assert_not_found(self.get('/noindex'), 'directory without index, no slash')
        self.assert_not_found(self.get('/nested/'), 'directory without index')
        self.assert_not_found(self.get('/dot/sub/'), 'mount without index')
        self.assert_not_found(self.get('/dot/'), 'mount without index')
        self.assert_not_found(self.get('/hello.txt/'), 'a file with a trailing slash')
        self.assert_not_found(self.get('/missing.txt'), 'missing')
        self.assert_not_found(self.get('/fifo'), 'a FIFO')

    def test_routes_and_methods(self):
        r = self.get('/api/ping')  # a route beats the mount at "/"
        self.assertEqual((r.status, r.body), (200, b'pong'))
        for method in ('POST', 'PUT', 'DELETE'):
            r = self.roundtrip(req(method, '/hello.txt', body=''))
            self.assertEqual(r.status, 405, r)
            self.assertEqual(r.header('Allow'), 'GET, HEAD, OPTIONS')
        doc = self.get('/openapi.json').json()
        self.assertNotIn('/static', doc['paths'])
        self.assertNotIn('/', doc['paths'])


class Conditional(StaticBase):
    def validators(self, target='/hello.txt'):
        r = self.get(target)
        return r.header('ETag'), r.header('Last-Modified')

    def assert_304(self, r, etag):
        self.assertEqual(r.status, 304, r)
        self.assertEqual(r.body, b'')
        self.assertEqual(r.header('ETag'), etag)
        self.assertIsNone(r.header('Content-Length'), r)

    def test_if_none_match(self):
        etag, _ = self.validators()
        self.assert_304(self.get('/hello.txt', ['If-None-Match: ' + etag]), etag)
        self.assert_304(self.get('/hello.txt', ['If-None-Match: "nope", ' + etag]), etag)
        self.assert_304(self.get('/hello.txt', ['If-None-Match: W/' + etag]), etag)  # weak compare
        self.assert_304(self.get('/hello.txt', ['If-None-Match: *']), etag)
        self.assert_304(self.get('/hello.txt', ['If-None-Match: ' + etag], method='HEAD'), etag)
        r = self.get('/hello.txt', ['If-None-Match: "nope"'])
        self.assertEqual((r.status, r.body), (200, HELLO))
        # the max-age mount keeps Cache-Control and Vary on its 304s
        etag, _ = self.validators('/static/hello.txt')
        r = self.get('/static/hello.txt', ['If-None-Match: ' + etag])
        self.assert_304(r, etag)
        self.assertEqual(r.header('Cache-Control'), 'public, max-age=3600')
        self.assertEqual(r.header('Vary'), 'Accept-Encoding')

    def test_if_modified_since(self):
        etag, lm = self.validators()
        self.assert_304(self.get('/hello.txt', ['If-Modified-Since: ' + lm]), etag)
        later = email.utils.formatdate(time.time() + 3600, usegmt=True)
        self.assert_304(self.get('/hello.txt', ['If-Modified-Since: ' + later]), etag)
        earlier = email.utils.formatdate(time.time() - 10 * 86400, usegmt=True)
        self.assertEqual(self.get('/hello.txt', ['If-Modified-Since: ' + earlier]).status, 200)
        self.assertEqual(self.get('/hello.txt', ['If-Modified-Since: garbage']).status, 200)
        # the obsolete formats are accepted too (RFC 9110 5.6.7)
        t = email.utils.parsedate_to_datetime(lm)
        self.assert_304(self.get('/hello.txt', ['If-Modified-Since: '
                                                + t.strftime('%A, %d-%b-%y %H:%M:%S GMT')]), etag)
        self.assert_304(self.get('/hello.txt', ['If-Modified-Since: '
                                                + t.strftime('%a %b %e %H:%M:%S %Y')]), etag)

    def test_if_none_match_takes_precedence(self):
        etag, lm = self.validators()
        r = self.get('/hello.txt', ['If-None-Match: "other"', 'If-Modified-Since: ' + lm])
        self.assertEqual((r.status, r.body), (200, HELLO))

    def test_if_match_and_unmodified_since(self):
        etag, lm = self.validators()
        self.assertEqual(self.get('/hello.txt', ['If-Match: ' + etag]).status, 200)
        self.assertEqual(self.get('/hello.txt', ['If-Match: *']).status, 200)
        r = self.get('/hello.txt', ['If-Match: "other"'])
        self.assertEqual(r.status, 412, r)
        self.assertEqual(self.get('/hello.txt', ['If-Match: W/' + etag]).status, 412)  # strong
        self.assertEqual(self.get('/hello.txt', ['If-Unmodified-Since: ' + lm]).status, 200)
        earlier = email.utils.formatdate(time.time() - 10 * 86400, usegmt=True)
        self.assertEqual(self.get('/hello.txt', ['If-Unmodified-Since: ' + earlier]).status, 412)


class Ranges(StaticBase):
    def assert_206(self, r, first, last, data):
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.header('Content-Range'), 'bytes %d-%d/%d' % (first, last, len(data)))
        self.assertEqual(r.body, data[first:last + 1])
        self.assertEqual(r.header('Content-Length'), str(last - first + 1))

    def test_single_ranges(self):
        big = self.file('big.bin')
        c = self.connect()
        cases = [('bytes=0-9', 0, 9), ('bytes=0-0', 0, 0), ('bytes=-100', BIG_SIZE - 100, BIG_SIZE - 1),
                 ('bytes=%d-' % (BIG_SIZE - 1000), BIG_SIZE - 1000, BIG_SIZE - 1),
                 ('bytes=1000000-2999999', 1000000, 2999999),
                 ('bytes=%d-%d' % (BIG_SIZE - 5, BIG_SIZE + 50), BIG_SIZE - 5, BIG_SIZE - 1),
                 ('bytes=-%d' % (BIG_SIZE * 2), 0, BIG_SIZE - 1)]
        for spec, first, last in cases:
            c.send(raw_get('/big.bin', ['Range: ' + spec]))
            self.assert_206(c.read_final(), first, last, big)
        r = self.get('/hello.txt', ['Range: bytes=6-'])
        self.assert_206(r, 6, len(HELLO) - 1, HELLO)
        self.assertEqual(r.header('Content-Type'), 'text/plain; charset=utf-8')

    def test_unsatisfiable(self):
        for spec in ('bytes=%d-' % len(HELLO), 'bytes=1000-2000', 'bytes=-0'):
            r = self.get('/hello.txt', ['Range: ' + spec])
            self.assertEqual(r.status, 416, (spec, r))
            self.assertEqual(r.header('Content-Range'), 'bytes */%d' % len(HELLO))
            self.assertNotEqual(r.body, HELLO)

    def test_ignored_ranges_answer_whole(self):
        for spec in ('bytes=0-1,4-5', 'bytes=5-1', 'items=0-1', 'bytes=x-y', 'bytes=0-1;'):
            r = self.get('/hello.txt', ['Range: ' + spec])
            self.assertEqual((r.status, r.body), (200, HELLO), spec)
            self.assertIsNone(r.header('Content-Range'), spec)

    def test_if_range(self):
        etag, lm = Conditional.validators(self)
        self.assert_206(self.get('/hello.txt', ['Range: bytes=0-4', 'If-Range: ' + etag]), 0, 4,
                        HELLO)
        self.assert_206(self.get('/hello.txt', ['Range: bytes=0-4', 'If-Range: ' + lm]), 0, 4,
                        HELLO)
        earlier = email.utils.formatdate(time.time() - 10 * 86400, usegmt=True)
        for ir in ('"stale-etag"', 'W/' + etag, earlier, 'garbage'):
            r = self.get('/hello.txt', ['Range: bytes=0-4', 'If-Range: ' + ir])
            self.assertEqual((r.status, r.body), (200, HELLO), ir)


class Precompressed(StaticBase):
    def test_selection(self):
        text = self.file('comp.js')
        r = self.get('/static/comp.js', ['Accept-Encoding: gzip'])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('Content-Encoding'), 'gzip')
        self.assertEqual(r.header('Vary'), 'Accept-Encoding')
        self.assertEqual(r.header('Content-Type'), 'text/javascript; charset=utf-8')
        self.assertEqual(gzip.decompress(r.body), text)
        self.assertEqual(r.header('Content-Length'), str(len(self.file('comp.js.gz'))))
        gz_etag = r.header('ETag')
        r = self.get('/static/comp.js', ['Accept-Encoding: gzip, deflate, br'])
        self.assertEqual((r.header('Content-Encoding'), r.body), ('br', self.file('comp.js.br')))
        self.assertNotEqual(r.header('ETag'), gz_etag)  # another representation, another tag
        r = self.get('/static/comp.js', ['Accept-Encoding: br;q=0, gzip'])
        self.assertEqual(r.header('Content-Encoding'), 'gzip')
        r = self.get('/static/comp.js', ['Accept-Encoding: br;q=0.5, gzip;q=0.9'])
        self.assertEqual(r.header('Content-Encoding'), 'gzip')
        for ae in ([], ['Accept-Encoding: identity'], ['Accept-Encoding: gzip;q=0, br;q=0']):
            r = self.get('/static/comp.js', ae)
            self.assertEqual(r.body, text, ae)
            self.assertIsNone(r.header('Content-Encoding'), ae)
            self.assertEqual(r.header('Vary'), 'Accept-Encoding', ae)
        # only a .gz exists: br-only clients get the original
        r = self.get('/static/gzonly.css', ['Accept-Encoding: br'])
        self.assertIsNone(r.header('Content-Encoding'))
        r = self.get('/static/gzonly.css', ['Accept-Encoding: br, gzip'])
        self.assertEqual(r.header('Content-Encoding'), 'gzip')
        # a variant older than its original is not used
        r = self.get('/static/stale.txt', ['Accept-Encoding: gzip'])
        self.assertEqual((r.body, r.header('Content-Encoding')), (b'fresh original', None))
        # the mount at "/" has no pre-compressed option
        r = self.get('/comp.js', ['Accept-Encoding: gzip, br'])
        self.assertEqual((r.body, r.header('Content-Encoding'), r.header('Vary')),
                         (text, None, None))

    def test_variant_conditionals_and_ranges(self):
        r = self.get('/static/comp.js', ['Accept-Encoding: gzip'])
        etag = r.header('ETag')
        r = self.get('/static/comp.js', ['Accept-Encoding: gzip', 'If-None-Match: ' + etag])
        self.assertEqual(r.status, 304, r)
        gz = self.file('comp.js.gz')
        r = self.get('/static/comp.js', ['Accept-Encoding: gzip', 'Range: bytes=0-9'])
        self.assertEqual((r.status, r.body), (206, gz[:10]))
        self.assertEqual(r.header('Content-Range'), 'bytes 0-9/%d' % len(gz))


# Hostile request targets: each must be a 404 and never carry the secret. They cover traversal
# (plain, encoded, mixed case, double-encoded, overlong UTF-8), an encoded '/' or '\' inside a
# segment, NUL, empty segments (absolute paths), dotfiles, and links that lead outside.
HOSTILE = [
    '/../secret.txt',
    '/static/../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/.%2e/secret.txt',
    '/%2e./secret.txt',
    '/static/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/..%2Fsecret.txt',
    '/%2e%2e%2fsecret.txt',
    '/sub/..%2f..%2fsecret.txt',
    '/sub/../../secret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/..%5csecret.txt',
    '/..\\secret.txt',
    '/sub\\..\\..\\secret.txt',
    '/%252e%252e/secret.txt',
    '/%c0%ae%c0%ae/secret.txt',
    '//etc/passwd',
    '/static//etc/passwd',
    '/%2fetc%2fpasswd',
    '/hello.txt%00.png',
    '/%00',
    '/../rootx/secret.txt',
    '/%2e%2e/rootx/secret.txt',
    '/dot/%2e%2e/secret.txt',
    '/dot/.%2e/secret.txt',
    '/dot/..',
    '/hello.txt/..',
    '/out.txt',
    '/static/out.txt',
    '/up/secret.txt',
    '/up/rootx/secret.txt',
    '/sideways',
    '/sub/escape.txt',
    '/dirlink/escape.txt',
    '/abs.txt',
    '/abs_inside.txt',
    '/loop',
    '/.env',
    '/%2eenv',
    '/.git/config',
    '/static/.git/config',
]


class Traversal(StaticBase):
    def test_hostile_paths(self):
        self.assertGreaterEqual(len(HOSTILE), 15)
        for target in HOSTILE:
            r = self.get(target)
            self.assert_not_found(r, target)
        # the same over one keep-alive connection, and in absolute form
        c = self.connect()
        for target in HOSTILE:
            c.send(raw_get(target))
            self.assert_not_found(c.read_final(), target)
            c.send(raw_get('http://127.0.0.1' + target))
            self.assert_not_found(c.read_final(), 'absolute-form ' + target)

    def test_links_inside_are_followed(self):
        self.assertEqual(self.get('/inlink.txt').body, HELLO)
        self.assertEqual(self.get('/dirlink/inner.txt').body, b'inner')
        self.assertEqual(self.get('/dirlink/back.txt').body, HELLO)
        self.assertEqual(self.get('/sub/back.txt').body, HELLO)

    def test_link_created_while_serving(self):
        # a link swapped in after start-up is checked like any other
        path = os.path.join(TREE, 'root', 'late.txt')
        os.symlink('../secret.txt', path)
        try:
            self.assert_not_found(self.get('/late.txt'), 'late link')
        finally:
            os.unlink(path)


class LargeFiles(StaticBase):
    server_args = ('--write-timeout', '1500')

    def setUp(self):
        h.MAX_READ = 64 * 1024 * 1024
        super().setUp()

    def digest(self, data):
        return hashlib.sha256(data).hexdigest()

    def test_large_file_intact(self):
        want = self.digest(self.file('big.bin'))
        c = self.connect(timeout=20)
        c.send(raw_get('/big.bin'))
        r = c.read_final()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header('Content-Length'), str(BIG_SIZE))
        self.assertEqual(len(r.body), BIG_SIZE)
        self.assertEqual(self.digest(r.body), want)

    def test_slow_reader(self):
        # a small receive window: the server meets EAGAIN many times and resumes on EPOLLOUT
        c = self.connect(timeout=20, rcvbuf=16384)
        c.send(raw_get('/big.bin', ['Range: bytes=0-1999999']))
        c.sock.settimeout(20)
        got = bytearray()
        deadline = time.monotonic() + 30
        while len(got) < 300000 and time.monotonic() < deadline:
            data = c.sock.recv(16384)
            if not data:
                break
            got += data
            time.sleep(0.001)
        c.buf += got
        r = c.read_final(timeout=20)
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, self.file('big.bin')[:2000000])

    def test_concurrent_downloads(self):
        # two big bodies from one worker at once, plus small requests in between: fairness
        want = self.digest(self.file('big.bin'))
        a, b = self.connect(timeout=20), self.connect(timeout=20)
        a.send(raw_get('/big.bin'))
        b.send(raw_get('/big.bin'))
        small = self.connect()
        small.send(raw_get('/api/ping'))
        self.assertEqual(small.read_final().body, b'pong')
        self.assertEqual(self.digest(a.read_final(timeout=20).body), want)
        self.assertEqual(self.digest(b.read_final(timeout=20).body), want)

    def test_pipelined_after_file(self):
        big = self.file('big.bin')
        c = self.connect(timeout=20)
        c.send(raw_get('/big.bin') + raw_get('/api/ping') + raw_get('/hello.txt')
               + req('HEAD', '/style.css') + raw_get('/big.bin', ['Range: bytes=5-9'])
               + raw_get('/missing') + raw_get('/static/comp.js', ['Accept-Encoding: gzip'])
               + raw_get('/page.html'))
        r = c.read_final(timeout=20)
        self.assertEqual((r.status, len(r.body)), (200, BIG_SIZE))
        self.assertEqual(self.digest(r.body), self.digest(big))
        self.assertEqual(c.read_final().body, b'pong')
        self.assertEqual(c.read_final().body, HELLO)
        r = c.read_final('HEAD')
        self.assertEqual((r.status, r.body), (200, b''))
        r = c.read_final()
        self.assertEqual((r.status, r.body), (206, big[5:10]))
        self.assertEqual(c.read_final().status, 404)
        r = c.read_final()
        self.assertEqual(gzip.decompress(r.body), self.file('comp.js'))
        self.assertEqual(c.read_final().body, b'<p>page</p>')
        # and the connection is still good
        c.send(raw_get('/hello.txt'))
        self.assertEqual(c.read_final().body, HELLO)

    def test_pipelined_after_304_and_416(self):
        etag = self.get('/hello.txt').header('ETag')
        c = self.connect()
        c.send(raw_get('/hello.txt', ['If-None-Match: ' + etag]) + raw_get('/hello.txt', ['Range: bytes=99-'])
               + raw_get('/hello.txt'))
        self.assertEqual(c.read_final().status, 304)
        self.assertEqual(c.read_final().status, 416)
        self.assertEqual(c.read_final().body, HELLO)

    def open_fds(self):
        return len(os.listdir('/proc/%d/fd' % self.server.proc.pid))

    def settle_fds(self, limit, timeout=5):
        deadline = time.monotonic() + timeout
        n = self.open_fds()
        while n > limit and time.monotonic() < deadline:
            time.sleep(0.05)
            n = self.open_fds()
        return n

    def test_files_closed_when_clients_vanish(self):
        self.assertEqual(self.get('/hello.txt').body, HELLO)
        base = self.open_fds()
        for _ in range(20):
            c = h.Conn(self.server.port, rcvbuf=8192)
            c.send(raw_get('/big.bin'))
            c.sock.recv(1000)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            c.close()  # reset in the middle of the body
        self.assertLessEqual(self.settle_fds(base), base)
        self.assertEqual(self.get('/hello.txt').body, HELLO)

    def test_write_timeout_closes_file(self):
        self.assertEqual(self.get('/hello.txt').body, HELLO)
        base = self.open_fds()
        c = self.connect(rcvbuf=8192)
        c.send(raw_get('/big.bin'))
        time.sleep(0.3)
        self.assertGreater(self.open_fds(), base)  # the socket and the file being sent
        # never read: the write timeout (1.5 s) closes the connection and the file
        self.assertLessEqual(self.settle_fds(base, timeout=6), base)
        self.assertEqual(self.get('/hello.txt').body, HELLO)

    def test_file_shrinking_while_sent(self):
        path = os.path.join(TREE, 'root', 'shrink.bin')
        shutil.copyfile(os.path.join(TREE, 'root', 'big.bin'), path)
        try:
            c = self.connect(timeout=10, rcvbuf=16384)
            c.send(raw_get('/shrink.bin'))
            c.buf += c.sock.recv(4096)  # the head and the start of the body
            time.sleep(0.2)
            os.truncate(path, 1024 * 1024)
            # the promised length cannot be kept: the connection is closed, not left hanging
            with self.assertRaises(Closed):
                c.read_final(timeout=10)
        finally:
            os.unlink(path)
        self.assertEqual(self.get('/hello.txt').body, HELLO)


def main():
    global TREE
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s PATH/TO/staticapp [unittest args]\n' % sys.argv[0])
        return 2
    h.APP = os.path.abspath(sys.argv[1])
    TREE = build_tree()
    try:
        prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2, exit=False)
    finally:
        shutil.rmtree(TREE, ignore_errors=True)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
