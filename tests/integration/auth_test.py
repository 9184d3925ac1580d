#!/usr/bin/env python3
"""Auth over real sockets, and its commands (tests/integration/authapp.c).

Usage: auth_test.py PATH/TO/authapp [unittest options]

The commands run in a fresh directory on a fresh SQLite file, with their answers given on stdin
(as a script or a test would give them); the server runs on one worker so that what the hash pool
does for logins is seen from the other requests of that same worker. Python 3 stdlib only.
"""

import http.client
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

APP = None
LISTEN_RE = re.compile(rb'listening on http://127\.0\.0\.1:(\d+)')


def run(args, stdin='', env=None, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([APP] + args, input=stdin.encode(), capture_output=True, timeout=60,
                          env=e, cwd=cwd)


class Server:
    def __init__(self, env, cwd):
        self.lines = []
        self.port = None
        self.ready = threading.Event()
        self.proc = subprocess.Popen([APP, 'serve', '--host', '127.0.0.1', '--port', '0',
                                      '--workers', '1'], cwd=cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        self.drainer = threading.Thread(target=self._drain, daemon=True)
        self.drainer.start()
        if not self.ready.wait(15):
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
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            headers = {}
            for name, value in r.getheaders():  # several Set-Cookie: one per line
                headers[name] = headers[name] + '\n' + value if name in headers else value
            return r.status, headers, r.read()
        finally:
            c.close()

    def login(self, username, password, client=None):
        """The login form as a browser fills it: the page first (its CSRF cookie and token).
        client: the address a trusted proxy says it came from (X-Forwarded-For)."""
        status, headers, page = self.request('GET', '/accounts/login/')
        assert status == 200, status
        secret = re.search(r'csrftoken=([A-Za-z0-9]+)', headers['Set-Cookie']).group(1)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"', page).group(1)
        body = urllib.parse.urlencode({'username': username, 'password': password,
                                       'csrfmiddlewaretoken': token.decode()})
        headers = {'Content-Type': 'application/x-www-form-urlencoded',
                   'Cookie': 'csrftoken=' + secret}
        if client:
            headers['X-Forwarded-For'] = client
        return self.request('POST', '/accounts/login/', body, headers)


class Commands(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='cadre-auth-')
        self.env = {'CADRE_DATABASE_URL': 'sqlite://%s/auth.db' % self.dir}

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def cmd(self, args, stdin='', env=None):
        e = dict(self.env)
        e.update(env or {})
        return run(args, stdin, e, self.dir)

    def test_needs_migrate_first(self):
        r = self.cmd(['createsuperuser'], 'x\n')
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'run `authapp migrate` first', r.stderr)

    def test_interactive_createsuperuser(self):
        self.assertEqual(self.cmd(['migrate']).returncode, 0)
        r = self.cmd(['createsuperuser'], 'admin\nadmin@example.com\nsecret pass 1\nsecret pass 1\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'Superuser created successfully.', r.stdout)
        self.assertNotIn(b'secret pass 1', r.stdout + r.stderr)  # never echoed back
        # a taken name, a bad name, then a good one; passwords that differ, then a short one
        # refused (no bypass), then a good one
        r = self.cmd(['createsuperuser'],
                     'admin\nno spaces\nops\n\nfirst pass 1\nsecond pass 1\nshort\nshort\nn\n'
                     'a long pass 1\na long pass 1\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'That username is already taken.', r.stderr)
        self.assertIn(b'letters, digits and @.+-_ only', r.stderr)
        self.assertIn(b"Your passwords didn't match.", r.stderr)
        self.assertIn(b'This password is too short', r.stderr)
        # a weak password kept on purpose (Django's bypass)
        r = self.cmd(['createsuperuser', '--username', 'dev', '--email', 'd@example.com'],
                     '12345678\n12345678\ny\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'entirely numeric', r.stderr)
        # three mistakes: aborted, nothing created
        r = self.cmd(['createsuperuser', '--username', 'late', '--email', ''],
                     'a1234567x\nb1234567x\na1234567x\nb1234567x\na1234567x\nb1234567x\n')
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'Aborting', r.stderr)
        # input that ends early: refused, not a crash
        r = self.cmd(['createsuperuser'], 'half')
        self.assertEqual(r.returncode, 1)

        srv = Server(dict(os.environ, **self.env), self.dir)
        try:
            self.assertEqual(srv.login('ops', 'a long pass 1')[0], 303)
            self.assertEqual(srv.login('dev', '12345678')[0], 303)
            self.assertEqual(srv.login('late', 'a1234567x')[0], 200)  # never made
        finally:
            srv.stop()

    def test_noinput_and_changepassword(self):
        self.assertEqual(self.cmd(['migrate']).returncode, 0)
        env = {'CADRE_SUPERUSER_USERNAME': 'robot', 'CADRE_SUPERUSER_PASSWORD': 'robot pass 1',
               'CADRE_SUPERUSER_EMAIL': 'robot@example.com'}
        r = self.cmd(['createsuperuser', '--noinput'], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cmd(['createsuperuser', '--noinput'], env=env)  # again: taken
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'already taken', r.stderr)
        r = self.cmd(['createsuperuser', '--noinput'])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'CADRE_SUPERUSER_USERNAME', r.stderr)
        r = self.cmd(['createsuperuser', '--noinput', '--username', 'nopass'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'no usable password', r.stdout)

        srv = Server(dict(os.environ, **self.env), self.dir)
        try:
            status, headers, _ = srv.login('robot', 'robot pass 1')
            self.assertEqual(status, 303)
            cookie = re.search(r'sessionid=[^;]+', headers['Set-Cookie']).group(0)
            self.assertEqual(srv.request('GET', '/me', headers={'Cookie': cookie})[0], 200)
            self.assertEqual(srv.login('nopass', '')[0], 200)
            self.assertEqual(srv.login('nopass', '!')[0], 200)

            r = self.cmd(['changepassword', 'robot'], 'robot pass 2\nrobot pass 2\n')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"Password changed successfully for user 'robot'", r.stdout)
            # the change ended its sessions
            self.assertEqual(srv.request('GET', '/me', headers={'Cookie': cookie})[0], 401)
            self.assertEqual(srv.login('robot', 'robot pass 1')[0], 200)
            self.assertEqual(srv.login('robot', 'robot pass 2')[0], 303)
            r = self.cmd(['changepassword', 'nobody'], 'x\n')
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"user 'nobody' does not exist", r.stderr)
            r = self.cmd(['clearsessions'])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b'expired session(s) deleted', r.stdout)
        finally:
            srv.stop()


class Migrated(unittest.TestCase):
    """A migrated database in a temp directory with a superuser, ops."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='cadre-auth-')
        self.env = {'CADRE_DATABASE_URL': 'sqlite://%s/auth.db' % self.dir}
        self.assertEqual(self.cmd(['migrate']).returncode, 0)
        r = self.cmd(['createsuperuser', '--noinput'],
                     env={'CADRE_SUPERUSER_USERNAME': 'ops', 'CADRE_SUPERUSER_PASSWORD': 'ops pass 1'})
        self.assertEqual(r.returncode, 0, r.stderr)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def cmd(self, args, stdin='', env=None):
        e = dict(self.env)
        e.update(env or {})
        return run(args, stdin, e, self.dir)


class Tokens(Migrated):
    """createtoken, tokens, revoketoken, and the token over a real socket."""

    def test_tokens_from_the_command_line(self):
        r = self.cmd(['tokens'])
        self.assertEqual((r.returncode, r.stdout), (0, b'No tokens.\n'))
        r = self.cmd(['createtoken', 'ops', 'deploy bot', '--scopes', 'reports inventory.*',
                      '--expires', '30'])
        self.assertEqual(r.returncode, 0, r.stderr)
        token = r.stdout.decode().strip()  # stdout holds the token alone: $(app createtoken ...)
        self.assertRegex(token, r'^cadre_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$')
        self.assertIn(b'Copy it now: it is not shown again.', r.stderr)
        r = self.cmd(['tokens', 'ops'])
        self.assertEqual(r.returncode, 0, r.stderr)
        listing = r.stdout.decode()
        self.assertIn('deploy bot', listing)
        self.assertIn(token[:18] + '_...', listing)
        self.assertNotIn(token[19:], listing)
        self.assertIn('reports inventory.*', listing)
        self.assertRegex(listing, r'\d{4}-\d\d-\d\d \d\d:\d\d UTC +never')  # expires, not used
        token_id = re.search(r'^(\d+) ', listing, re.M).group(1)

        # what cannot be made, in words
        for args, words in ((['createtoken', 'nobody', 'x'], b"user 'nobody' does not exist"),
                            (['createtoken', 'ops', 'x', '--scopes', 'a**'], b'scopes:'),
                            (['createtoken', 'ops', 'x', '--expires', '0'], b'--expires'),
                            (['createtoken', 'ops'], b'usage:'),
                            (['revoketoken', 'x'], b'usage:'),
                            (['revoketoken', '999'], b'no such token')):
            r = self.cmd(args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(words, r.stderr, args)

        srv = Server(dict(os.environ, **self.env), self.dir)
        try:
            auth = {'Authorization': 'Bearer ' + token}
            self.assertEqual(srv.request('GET', '/api/me', headers=auth)[::2], (200, b'ops'))
            # an unsafe method with the token: no CSRF token needed
            self.assertEqual(srv.request('POST', '/api/me', b'', auth)[::2], (200, b'ops'))
            status, headers, _ = srv.request('GET', '/api/me')
            self.assertEqual((status, headers['WWW-Authenticate']), (401, 'Bearer'))
            status, headers, _ = srv.request('GET', '/api/me',
                                             headers={'Authorization': 'Bearer ' + token[:-1] + 'x'})
            self.assertEqual(status, 401)
            self.assertIn('error="invalid_token"', headers['WWW-Authenticate'])
            # a page takes no token
            self.assertEqual(srv.request('GET', '/me', headers=auth)[0], 401)
            # last used: now a time, not never
            self.assertRegex(self.cmd(['tokens']).stdout.decode(), r'UTC +\d{4}-\d\d-\d\d \d\d:\d\d UTC +reports')

            r = self.cmd(['revoketoken', token_id])
            self.assertEqual((r.returncode, r.stdout), (0, b'Token %s revoked.\n' % token_id.encode()))
            self.assertEqual(srv.request('GET', '/api/me', headers=auth)[0], 401)
        finally:
            srv.stop()


class Groups(Migrated):
    """createuser, permissions and group from the command line."""

    def test_createuser(self):
        env = {'CADRE_USER_USERNAME': 'carol', 'CADRE_USER_PASSWORD': 'carol pass 1'}
        r = self.cmd(['createuser', '--noinput', '--staff'], env=env)
        self.assertEqual((r.returncode, r.stdout), (0, b'Staff user created successfully.\n'),
                         r.stderr)
        r = self.cmd(['createuser', '--noinput', '--username', 'erin'])
        self.assertEqual((r.returncode, r.stdout), (0, b'User created successfully.\n'
                          b'It has no usable password yet: set one with `changepassword erin`.\n'),
                         r.stderr)
        r = self.cmd(['createuser', '--noinput'], env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'That username is already taken.', r.stderr)
        r = self.cmd(['createuser', '--noinput'])
        self.assertIn(b'CADRE_USER_USERNAME', r.stderr)
        con = sqlite3.connect(os.path.join(self.dir, 'auth.db'))
        try:
            rows = con.execute('SELECT username, is_staff, is_superuser, is_active FROM cadre_user '
                               'ORDER BY id').fetchall()
        finally:
            con.close()
        self.assertEqual(rows, [('ops', 1, 1, 1), ('carol', 1, 0, 1), ('erin', 0, 0, 1)])

    def test_group_command(self):
        r = self.cmd(['permissions'])
        self.assertEqual(r.returncode, 0, r.stderr)
        names = r.stdout.decode().split()
        self.assertIn('auth.view_cadre_user', names)
        self.assertEqual(names, sorted(names))
        r = self.cmd(['group', 'staff', '--grant', 'auth.view_cadre_user', '--grant',
                      'auth.change_cadre_token', '--add', 'ops'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(), "Group 'staff' created.\nGroup 'staff':\n"
                         "  permissions: auth.change_cadre_token, auth.view_cadre_user\n"
                         "  members: ops\n")
        r = self.cmd(['group', 'staff', '--revoke', 'auth.change_cadre_token', '--remove', 'ops'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('permissions: auth.view_cadre_user\n  members: (none)', r.stdout.decode())
        # a pattern grants (and revokes) every permission it matches
        r = self.cmd(['group', 'token-admins', '--grant', 'auth.*_cadre_token', '--add', 'ops'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('permissions: auth.add_cadre_token, auth.change_cadre_token, '
                      'auth.delete_cadre_token, auth.view_cadre_token\n  members: ops',
                      r.stdout.decode())
        r = self.cmd(['group', 'token-admins', '--revoke', 'auth.*', '--remove', 'ops'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('permissions: (none)\n  members: (none)', r.stdout.decode())
        # a refusal, of any argument, makes nothing: no half-made group
        for args in (['group', 'half', '--grant', 'auth.view_cadre_user', '--grant', 'shop.*'],
                     ['group', 'half', '--add', 'ops', '--add', 'ghost']):
            r = self.cmd(args)
            self.assertEqual(r.returncode, 1, args)
            self.assertNotIn(b'created', r.stdout)
        r = self.cmd(['group', 'half'])
        self.assertIn(b"Group 'half' created.", r.stdout)
        for args, words in ((['group', 'staff', '--grant', 'shop.nothing'],
                             b"no permission is named 'shop.nothing'"),
                            (['group', 'staff', '--grant', 'shop.*'],
                             b"no permission matches 'shop.*'"),
                            (['group', 'staff', '--add', 'ghost'], b"user 'ghost' does not exist"),
                            (['group', 'staff', '--frobnicate', 'x'], b'--frobnicate'),
                            (['group'], b'usage:')):
            r = self.cmd(args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(words, r.stderr, args)


class GracefulStop(unittest.TestCase):
    """An app with auth (its password-hashing threads started before the server) stops
    gracefully on SIGTERM: the signal reaches the server, not a hashing thread."""

    def test_sigterm_stops_gracefully(self):
        d = tempfile.mkdtemp(prefix='cadre-auth-')
        try:
            env = dict(os.environ, CADRE_DATABASE_URL='sqlite://%s/auth.db' % d)
            self.assertEqual(run(['migrate'], env=env, cwd=d).returncode, 0)
            env2 = dict(env, CADRE_SUPERUSER_USERNAME='admin', CADRE_SUPERUSER_PASSWORD='admin pass 1')
            self.assertEqual(run(['createsuperuser', '--noinput'], env=env2, cwd=d).returncode, 0)
            for sig in (signal.SIGTERM, signal.SIGINT):
                srv = Server(env, d)
                self.assertEqual(srv.login('admin', 'admin pass 1')[0], 303)  # a hash ran
                srv.proc.send_signal(sig)
                self.assertEqual(srv.proc.wait(15), 0, b''.join(srv.lines).decode())
                srv.drainer.join(10)  # its log read to the end
                self.assertIn(b'shutting down gracefully', b''.join(srv.lines), sig)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class Server1(unittest.TestCase):
    """One worker, two hash threads: logins queue on the pool, the worker serves the rest."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='cadre-auth-')
        env = dict(os.environ, CADRE_DATABASE_URL='sqlite://%s/auth.db' % cls.dir)
        assert run(['migrate'], env=env, cwd=cls.dir).returncode == 0
        env2 = dict(env, CADRE_SUPERUSER_USERNAME='admin', CADRE_SUPERUSER_PASSWORD='admin pass 1')
        assert run(['createsuperuser', '--noinput'], env=env2, cwd=cls.dir).returncode == 0
        # the test client stands for a proxy: each test's logins come from addresses of its own
        env = dict(env, CADRE_TRUSTED_PROXIES='127.0.0.1')
        # meson's MALLOC_PERTURB_ makes glibc fill each allocation: for a hash's 19 MiB, that
        # is milliseconds that depend on the thread's heap, not on the login (timing below)
        env.pop('MALLOC_PERTURB_', None)
        cls.srv = Server(env, cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_logins_do_not_stall_the_worker(self):
        n = 50
        done = []
        lock = threading.Lock()
        start = threading.Barrier(n + 1)

        def login():
            start.wait()
            status = self.srv.login('admin', 'admin pass 1')[0]
            with lock:
                done.append(('login', status, time.monotonic()))

        threads = [threading.Thread(target=login) for _ in range(n)]
        for t in threads:
            t.start()
        start.wait()
        time.sleep(0.05)  # the logins are sent; most wait on the pool now
        status, _, body = self.srv.request('GET', '/plaintext')
        plain_at = time.monotonic()
        for t in threads:
            t.join(60)
        self.assertEqual((status, body), (200, b'Hello, World!'))
        self.assertEqual([s for _, s, _ in done], [303] * n)
        # answered while logins were still waiting for their hash, not after them all
        later = [t for _, _, t in done if t > plain_at]
        self.assertGreater(len(later), n // 4, 'plaintext waited for the logins')
        # memory: two hashes at a time (19 MiB each), not fifty
        with open('/proc/%d/status' % self.srv.proc.pid) as f:
            hwm = int(re.search(r'VmHWM:\s+(\d+) kB', f.read()).group(1)) // 1024
        self.assertLess(hwm, 150, 'peak RSS %d MiB' % hwm)

    def test_login_throttling(self):
        for i in range(5):
            self.assertEqual(self.srv.login('admin', 'wrong %d' % i, '10.9.9.9')[0], 200)
        status, headers, page = self.srv.login('admin', 'admin pass 1', '10.9.9.9')
        self.assertEqual(status, 429)  # even the right password: no password is checked
        self.assertTrue(880 <= int(headers['Retry-After']) <= 900, headers['Retry-After'])
        self.assertIn(b'Too many failed login attempts. Try again in 15 minutes.', page)
        self.assertNotIn('sessionid=', headers.get('Set-Cookie', ''))
        # a forged address to the left of what the proxy appended changes nothing
        self.assertEqual(self.srv.login('admin', 'admin pass 1', '10.0.0.1, 10.9.9.9')[0], 429)
        # another address, another username: their own counts
        self.assertEqual(self.srv.login('admin', 'admin pass 1', '10.9.9.8')[0], 303)
        self.assertEqual(self.srv.login('other', 'x', '10.9.9.9')[0], 200)
        # a success clears that address's count: four failures and a success, then five more
        for i in range(4):
            self.srv.login('admin', 'wrong', '10.9.9.7')
        self.assertEqual(self.srv.login('admin', 'admin pass 1', '10.9.9.7')[0], 303)
        for i in range(5):
            self.assertEqual(self.srv.login('admin', 'wrong', '10.9.9.7')[0], 200)
        self.assertEqual(self.srv.login('admin', 'wrong', '10.9.9.7')[0], 429)

    def measure(self, rnd, round_):
        """The least login time of an unknown user and of a known one with a wrong password,
        over 40 interleaved pairs (each from an address of its own: five failures from one are
        throttled)."""
        unknown, wrong = [], []
        for i in range(40):  # interleaved, so that the machine's load hits both alike
            # in a random order: strict alternation would give each kind its own hash thread
            # (whose memory may be warm or not: ~10 ms of page faults), timing threads, not users
            pair = [('nobody%d' % i, unknown), ('admin', wrong)]
            rnd.shuffle(pair)
            for name, into in pair:
                t0 = time.monotonic()
                status, headers, _ = self.srv.login(name, 'not the password',
                                                    '10.%d.%d.1' % (2 + round_, i))
                into.append(time.monotonic() - t0)
                self.assertEqual(status, 200)
                self.assertNotIn('Set-Cookie', headers)
        # the least time of each kind: noise only adds to it. Medians are no good here: a hash
        # thread's 19 MiB may be warm (~15 ms) or faulted in again (~40 ms, under meson's
        # MALLOC_PERTURB_), and the median of that two-humped spread lands on either hump.
        return min(unknown), min(wrong)

    def test_unknown_user_costs_a_hash(self):
        for i in range(3):  # warm-up, not counted
            self.srv.login('nobody', 'not the password', '10.1.0.%d' % i)
            self.srv.login('admin', 'not the password', '10.1.0.%d' % i)
        rnd = random.Random(13)
        # up to three rounds: a shared machine's noise can keep one kind off its least time for
        # a whole round (CI saw 20.3 vs 18.2 ms once); a leak (an unknown user answered without
        # a hash: well under a millisecond against ~15 ms) fails every round
        seen = []
        for round_ in range(3):
            mu, mw = self.measure(rnd, round_)
            self.assertGreater(mu, 0.004)  # a hash ran
            seen.append('unknown %.1f ms, wrong %.1f ms' % (mu * 1e3, mw * 1e3))
            if abs(mu - mw) / mw < 0.10:
                return
        self.fail('an unknown user and a wrong password differ by 10 % or more: ' + '; '.join(seen))

if __name__ == '__main__':
    APP = os.path.abspath(sys.argv.pop(1))
    unittest.main()
