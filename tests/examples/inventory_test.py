#!/usr/bin/env python3
"""The example app examples/product end to end: its migration commands, then its JSON API over
real sockets (127.0.0.1 only). Runs on SQLite (a database in a fresh temp directory) or, when
CADRE_TEST_PG is set (tests/pg/with-postgres), on PostgreSQL in a freshly created database.
Every wait is bounded.    inventory_test.py INVENTORY_BINARY MIGRATIONS_DIR"""
import codecs
import datetime
import hashlib
import http.client
import json
import os
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
import urllib.parse

# absolute: the commands run in a temp directory (meson passes the binary relative to the build dir)
APP = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None
MIGRATIONS = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None
PG = os.environ.get("CADRE_TEST_PG") or None  # empty: SQLite
COMMAND_TIMEOUT = 30
HTTP_TIMEOUT = 10


def migration_names():
    """The committed migrations, in order, read from the directory (never a hard-coded list)."""
    names = sorted(f[:-len(".json")] for f in os.listdir(MIGRATIONS) if f.endswith(".json"))
    assert names and names[0] == "0001_initial", names
    return names


def snapshot(directory):
    """Every file of directory with a hash of its content."""
    out = {}
    for f in sorted(os.listdir(directory)):
        with open(os.path.join(directory, f), "rb") as fh:
            out[f] = hashlib.sha256(fh.read()).hexdigest()
    return out


def psql(url, *commands):
    """Runs each command on its own (CREATE DATABASE cannot run inside a transaction block)."""
    cmd = [os.path.join(os.environ["CADRE_TEST_PG_BIN"], "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
           "-d", url]
    for c in commands:
        cmd += ["-c", c]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT,
                   env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))


class Database:
    """A database of its own, empty: a temp-dir SQLite file, or a new PostgreSQL database."""
    count = 0

    def __init__(self):
        Database.count += 1
        self.dir = tempfile.mkdtemp(prefix="cadre-inventory-")
        if PG:
            self.name = f"inventory_test_{os.getpid()}_{Database.count}"
            psql(PG, f'DROP DATABASE IF EXISTS "{self.name}"', f'CREATE DATABASE "{self.name}"')
            self.url = urllib.parse.urlsplit(PG)._replace(path="/" + self.name).geturl()
        else:
            self.name = None
            self.url = "sqlite://" + os.path.join(self.dir, "inv.db")

    def drop(self):
        if self.name:
            try:
                psql(PG, f'DROP DATABASE IF EXISTS "{self.name}"')
            except (subprocess.SubprocessError, OSError) as e:
                print(f"could not drop {self.name}: {e}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)

    def env(self):
        return dict(os.environ, CADRE_DATABASE_URL=self.url)

    def run(self, *args, env=None):
        """Runs an inventory command (in the temp dir, so a default database could not land in
        the source tree) → (exit status, stdout, stderr)."""
        p = subprocess.run([APP, *args], env=dict(self.env(), **(env or {})), cwd=self.dir,
                           capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        return p.returncode, p.stdout, p.stderr

    def sql(self, *statements):
        """Runs SQL on the database (psql, or Python's sqlite3)."""
        if PG:
            psql(self.url, *statements)
        else:
            import sqlite3
            con = sqlite3.connect(os.path.join(self.dir, "inv.db"))
            try:
                for st in statements:
                    con.execute(st)
                con.commit()
            finally:
                con.close()

    def query(self, sql):
        """The rows of a query, as tuples of Python values (ints, floats, strings)."""
        if PG:
            cmd = [os.path.join(os.environ["CADRE_TEST_PG_BIN"], "psql"), "-X", "-q", "-A", "-t",
                   "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-d", self.url, "-c", sql]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                                 timeout=COMMAND_TIMEOUT).stdout

            def value(v):
                for kind in (int, float):
                    try:
                        return kind(v)
                    except ValueError:
                        pass
                return v
            return [tuple(value(v) for v in line.split("\x1f")) for line in out.splitlines() if line]
        import sqlite3
        con = sqlite3.connect(os.path.join(self.dir, "inv.db"))
        try:
            return [tuple(r) for r in con.execute(sql).fetchall()]
        finally:
            con.close()

    def user(self, name, password, *flags):
        """Makes a user (createsuperuser with "super" in flags, else createuser with the
        flags)."""
        command = "createsuperuser" if "super" in flags else "createuser"
        prefix = "CADRE_SUPERUSER_" if "super" in flags else "CADRE_USER_"
        rc, out, err = self.run(command, "--noinput", *[f for f in flags if f != "super"],
                                env={prefix + "USERNAME": name, prefix + "PASSWORD": password})
        assert rc == 0, out + err

    def token(self, user, *args):
        """A new API token of user (createtoken's first line)."""
        rc, out, err = self.run("createtoken", user, f"test {time.monotonic_ns()}", *args)
        assert rc == 0, out + err
        return out.splitlines()[0]

    def admin_token(self):
        """A superuser's token (the superuser made the first time)."""
        if not getattr(self, "_admin", None):
            self.user("ops", "ops pass 12", "super")
            self._admin = self.token("ops")
        return self._admin


class Server:
    """inventory serve on a free port; the port is read from the listening line on stderr."""

    def __init__(self, db, prefix=(), args=(), env=None):
        """prefix: a command the server runs under (its argv follows); args: serve's options;
        env: more environment."""
        self.proc = subprocess.Popen([*prefix, APP, "serve", "--port", "0", "--workers", "1", *args],
                                     env=dict(db.env(), **(env or {})),
                                     cwd=db.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        found = threading.Event()

        def pump():  # reads stderr to the end so the server never blocks on a full pipe
            for line in self.proc.stderr:
                self.lines.append(line)
                m = re.search(r"listening on http://[^:\s]+:(\d+)", line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    found.set()
            found.set()  # EOF: the server exited before listening

        self.pump = threading.Thread(target=pump, daemon=True)
        self.pump.start()
        if not found.wait(timeout=15) or self.port is None:
            self.stop()
            raise AssertionError("the server did not start:\n" + "".join(self.lines))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.pump.join(timeout=5)
        if not self.pump.is_alive():
            self.proc.stderr.close()

    token = None  # sent as a Bearer token by request, unless told otherwise

    def request(self, method, path, body=None, token=True, headers=None):
        """One HTTP/1.1 request on its own connection → (status, parsed JSON body or None, raw).
        token: True sends the server's token (when it has one), None none, else that token.
        A body must be JSON unless the request asked for HTML (Accept: text/html)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            extra = headers or {}
            headers = {"Connection": "close"}
            token = self.token if token is True else token
            if token:
                headers["Authorization"] = "Bearer " + token
            headers.update(extra)
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            self.last_headers = dict(resp.getheaders())
            parsed = None
            ctype = resp.getheader("Content-Type", "")
            if extra.get("Accept") == "text/html" and raw:
                assert ctype.startswith("text/html"), (method, path, resp.status, ctype, raw)
            elif raw and method == "GET" and path.split("?")[0] in ("/livez", "/readyz"):
                assert ctype.startswith("text/plain"), (method, path, resp.status, ctype, raw)
            elif raw:
                assert ctype.startswith("application/json"), (method, path, resp.status, ctype, raw)
                parsed = json.loads(raw)
            return resp.status, parsed, raw
        finally:
            conn.close()


    def browse(self, method, path, cookie, csrf=None, form=None):
        """A browser's request with cookie (and X-CSRFToken csrf; a form is sent urlencoded,
        with the site's Origin, as a browser posts it) → (status, headers, page text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            headers = {"Connection": "close", "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                       "Cookie": cookie}
            if csrf:
                headers["X-CSRFToken"] = csrf
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                headers["Origin"] = f"http://127.0.0.1:{self.port}"
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read().decode()
        finally:
            conn.close()

    def login(self, username, password):
        """Logs in through the login page as a browser does → its cookies, as a Cookie header
        value, with the CSRF secret that scripts send as X-CSRFToken ((cookie, csrf))."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            conn.request("GET", "/accounts/login/", headers={"Accept": "text/html"})
            resp = conn.getresponse()
            resp.read()
            csrf = re.match(r"csrftoken=([A-Za-z0-9]+)", resp.getheader("Set-Cookie")).group(1)
            form = urllib.parse.urlencode({"username": username, "password": password,
                                           "csrfmiddlewaretoken": csrf})
            conn.request("POST", "/accounts/login/", body=form, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html",
                "Cookie": "csrftoken=" + csrf, "Origin": f"http://127.0.0.1:{self.port}"})
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 303, (resp.status, username)
            jar = {}
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    k, v = value.split(";", 1)[0].split("=", 1)
                    jar[k] = v
            return f"sessionid={jar['sessionid']}; csrftoken={jar['csrftoken']}", jar["csrftoken"]
        finally:
            conn.close()


def module_migrations(module):
    """A built-in module's migrations (src/MODULE/migrations), read from the directory."""
    d = os.path.join(MIGRATIONS, "..", "..", "..", "src", module, "migrations")
    return sorted(f[:-len(".json")] for f in os.listdir(d) if f.endswith(".json"))


def auth_migrations():
    """auth's migrations, which migrate applies first."""
    return module_migrations("auth")


def builtin_applied():
    """What migrate applies before the inventory's own: auth's, the admin's, then the tasks'."""
    return ([f"Applying auth.{n}... OK" for n in auth_migrations()] +
            [f"Applying admin.{n}... OK" for n in module_migrations("admin")] +
            [f"Applying tasks.{n}... OK" for n in module_migrations("tasks")])


class MigrationCommandsTest(unittest.TestCase):
    def setUp(self):
        self.db = Database()
        self.addCleanup(self.db.drop)

    def test_migrate_lifecycle(self):
        names, auth = migration_names(), auth_migrations()
        rc, out, err = self.db.run("showmigrations")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ["auth", *[f" [ ] {n}" for n in auth],
                                            "admin", *[f" [ ] {n}" for n in module_migrations("admin")],
                                            "tasks", *[f" [ ] {n}" for n in module_migrations("tasks")],
                                            "inventory", *[f" [ ] {n}" for n in names]])

        rc, out, err = self.db.run("migrate")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), builtin_applied() +
                         [f"Applying inventory.{n}... OK" for n in names])
        if not PG:  # CADRE_DATABASE_URL was honoured: the database is where it says
            self.assertTrue(os.path.isfile(os.path.join(self.db.dir, "inv.db")))

        rc, out, err = self.db.run("showmigrations", "inventory")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ["inventory", *[f" [X] {n}" for n in names]])

        rc, out, err = self.db.run("migrate")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "No migrations to apply.")

    def sql(self, *statements):
        """Runs SQL on the test's database."""
        self.db.sql(*statements)

    def test_database_from_before_modules_still_migrates(self):
        # A database migrated before modules recorded (name, applied) only: the first migration
        # applied, the rest pending. migrate upgrades the record table, gives its rows to the
        # app's own module, applies only what is pending, and the app serves from it.
        names = migration_names()
        rc, out, err = self.db.run("migrate", "inventory", "0001")
        self.assertEqual(rc, 0, err)
        self.sql("DROP TABLE cadre_migrations",
                 "CREATE TABLE cadre_migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)",
                 "INSERT INTO cadre_migrations (name, applied) VALUES ('0001_initial', "
                 "'2026-06-01T12:00:00Z')")
        rc, out, err = self.db.run("showmigrations", "inventory")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ["inventory", " [X] 0001_initial"] +
                         [f" [ ] {n}" for n in names[1:]])
        rc, out, err = self.db.run("migrate")
        self.assertEqual(rc, 0, out + err)
        lines = out.splitlines()
        self.assertIn("Upgraded cadre_migrations", lines[0])
        self.assertEqual(lines[1:], builtin_applied() +
                         [f"Applying inventory.{n}... OK" for n in names[1:]])
        rc, out, err = self.db.run("showmigrations", "inventory")
        self.assertEqual(out.splitlines(), ["inventory", *[f" [X] {n}" for n in names]])
        srv = Server(self.db)
        srv.token = self.db.admin_token()
        try:
            status, body, _ = srv.request("POST", "/api/suppliers", {"name": "Old Co"})
            self.assertEqual(status, 201, body)
        finally:
            srv.stop()

    def test_migrate_up_to_a_target(self):
        names = migration_names()
        rc, out, err = self.db.run("migrate", "inventory", "0001")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ["Applying inventory.0001_initial... OK"])
        rc, out, err = self.db.run("showmigrations", "inventory")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(),
                         ["inventory", " [X] 0001_initial"] + [f" [ ] {n}" for n in names[1:]])

    def test_makemigrations_check_matches_the_models_and_writes_nothing(self):
        before = snapshot(MIGRATIONS)
        rc, out, err = self.db.run("makemigrations", "--check")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(snapshot(MIGRATIONS), before)
        # and --check does notice a difference: against no migrations at all it fails, still
        # writing nothing
        empty = os.path.join(self.db.dir, "empty")
        os.mkdir(empty)
        rc, out, err = self.db.run("makemigrations", "inventory", "--check", "--dir", empty)
        self.assertNotEqual(rc, 0, out + err)
        self.assertIn("create table supplier", out + err)
        self.assertEqual(os.listdir(empty), [])
        self.assertEqual(snapshot(MIGRATIONS), before)

    def test_sqlmigrate_per_engine(self):
        rc, pg_sql, err = self.db.run("sqlmigrate", "inventory", "0001", "--engine", "postgresql")
        self.assertEqual(rc, 0, err)
        self.assertIn("CREATE TABLE supplier", pg_sql)
        self.assertIn("BIGSERIAL", pg_sql)
        rc, lite_sql, err = self.db.run("sqlmigrate", "inventory", "0001", "--engine", "sqlite")
        self.assertEqual(rc, 0, err)
        self.assertIn("CREATE TABLE supplier", lite_sql)
        self.assertNotIn("BIGSERIAL", lite_sql)
        rc, out, err = self.db.run("sqlmigrate", "inventory", "9999")
        self.assertNotEqual(rc, 0, out)


class ServedTest(unittest.TestCase):
    """A test class with a database of its own, made ready by prepare (migrated, users…), and a
    server on it, then served (logins); both dropped at the end."""

    @classmethod
    def prepare(cls):
        rc, out, err = cls.db.run("migrate")
        assert rc == 0, out + err

    @classmethod
    def served(cls):
        pass

    @classmethod
    def setUpClass(cls):
        cls.db = Database()
        try:
            cls.prepare()
            cls.server = Server(cls.db)
            cls.served()
        except BaseException:
            if getattr(cls, "server", None):
                cls.server.stop()
            cls.db.drop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.db.drop()


class ApiTest(ServedTest):
    @classmethod
    def served(cls):
        # the API as a superuser's token, the pages as its logged-in browser
        cls.server.token = cls.db.admin_token()
        cls.cookie, cls.csrf = cls.server.login("ops", "ops pass 12")

    def req(self, method, path, body=None):
        return self.server.request(method, path, body)

    def supplier(self, name):
        status, body, raw = self.req("POST", "/api/suppliers", {"name": name})
        self.assertEqual(status, 201, raw)
        self.assertEqual(body["name"], name)
        self.assertIsInstance(body["id"], int)
        return body["id"]

    def test_supplier_name_is_unique(self):
        sid = self.supplier("Acme")
        status, body, raw = self.req("GET", f"/api/suppliers/{sid}")
        self.assertEqual((status, body["name"]), (200, "Acme"), raw)
        status, body, raw = self.req("POST", "/api/suppliers", {"name": "Acme"})
        self.assertEqual(status, 409, raw)
        # the same answer on SQLite and PostgreSQL, naming the field
        self.assertEqual(body, {"detail": [{"type": "unique", "loc": ["body", "name"],
                                            "msg": "Supplier with this name already exists.",
                                            "input": "Acme"}]})
        # an optional nullable field that was not given reads back as null, as in FastAPI
        status, body, raw = self.req("GET", f"/api/suppliers/{sid}")
        self.assertEqual(body, {"id": sid, "name": "Acme", "email": None}, raw)
        # PUT replaces the row: an optional field it leaves out becomes null again
        status, body, raw = self.req("PATCH", f"/api/suppliers/{sid}", {"email": "a@b.c"})
        self.assertEqual((status, body["email"]), (200, "a@b.c"), raw)
        status, body, raw = self.req("PUT", f"/api/suppliers/{sid}", {"name": "Acme"})
        self.assertEqual((status, body), (200, {"id": sid, "name": "Acme", "email": None}), raw)
        status, body, raw = self.req("GET", "/api/suppliers?name=Acme")
        self.assertEqual((status, body["count"]), (200, 1), raw)

    def test_product_validation(self):
        sid = self.supplier("Validation Ltd")
        status, body, raw = self.req("POST", "/api/products",
                                     {"name": "Ghost", "price": 1.0, "supplier_id": 987654321})
        self.assertEqual(status, 422, raw)
        self.assertEqual([e["loc"] for e in body["detail"]], [["body", "supplier_id"]])
        status, body, raw = self.req("POST", "/api/products",
                                     {"name": "Negative", "price": -1, "supplier_id": sid})
        self.assertEqual(status, 422, raw)
        self.assertEqual([e["loc"] for e in body["detail"]], [["body", "price"]])
        # neither was stored
        status, body, raw = self.req("GET", f"/api/products?supplier_id={sid}")
        self.assertEqual((status, body["count"], body["results"]), (200, 0, []), raw)

    def test_product_stock_and_deletes(self):
        sid = self.supplier("Tools Inc")
        status, prod, raw = self.req("POST", "/api/products",
                                     {"name": "Hammer", "price": 9.5, "supplier_id": sid})
        self.assertEqual(status, 201, raw)
        pid = prod["id"]
        self.assertIsInstance(pid, int)
        self.assertEqual((prod["name"], prod["price"], prod["supplier_id"]), ("Hammer", 9.5, sid))

        # filtered list: {"count", "results"}
        status, body, raw = self.req("GET", f"/api/products?supplier_id={sid}&price__lt=10")
        self.assertEqual(status, 200, raw)
        self.assertEqual(body["count"], 1)
        self.assertEqual([p["id"] for p in body["results"]], [pid])
        status, body, raw = self.req("GET", f"/api/products?supplier_id={sid}&price__lt=9")
        self.assertEqual((status, body["count"], body["results"]), (200, 0, []), raw)

        status, body, raw = self.req("GET", f"/api/products/{pid}")
        self.assertEqual(status, 200, raw)
        self.assertEqual((body["id"], body["name"], body["price"]), (pid, "Hammer", 9.5))
        status, body, raw = self.req("GET", "/api/products/987654321")
        self.assertEqual(status, 404, raw)
        self.assertIn("detail", body)

        status, body, raw = self.req("PATCH", f"/api/products/{pid}", {"price": 11})
        self.assertEqual(status, 200, raw)
        self.assertEqual((body["id"], body["name"], body["price"], body["supplier_id"]),
                         (pid, "Hammer", 11, sid))
        status, body, raw = self.req("GET", f"/api/products/{pid}")
        self.assertEqual((status, body["price"]), (200, 11), raw)

        # stock: the sum of the movements
        status, body, raw = self.req("GET", f"/api/products/{pid}/stock")
        self.assertEqual(status, 200, raw)
        self.assertEqual(body, {"product_id": pid, "quantity": 0, "movements": 0})
        movements = []
        for qty in (12, -5):
            status, body, raw = self.req("POST", "/api/stock-movements",
                                         {"product_id": pid, "quantity": qty})
            self.assertEqual(status, 201, raw)
            self.assertEqual((body["product_id"], body["quantity"]), (pid, qty))
            movements.append(body["id"])
        status, body, raw = self.req("GET", f"/api/products/{pid}/stock")
        self.assertEqual(status, 200, raw)
        self.assertEqual(body, {"product_id": pid, "quantity": 7, "movements": 2})

        # the product protects its supplier
        status, body, raw = self.req("DELETE", f"/api/suppliers/{sid}")
        self.assertEqual(status, 409, raw)
        self.assertEqual(body, {"detail": "This supplier is still referenced by other rows "
                                          "(protected from deletion)"})
        status, body, raw = self.req("GET", f"/api/suppliers/{sid}")
        self.assertEqual(status, 200, raw)

        # deleting the product cascades to its movements
        status, body, raw = self.req("DELETE", f"/api/products/{pid}")
        self.assertEqual((status, raw), (204, b""))
        status, body, raw = self.req("GET", f"/api/products/{pid}")
        self.assertEqual(status, 404, raw)
        status, body, raw = self.req("GET", f"/api/products/{pid}/stock")
        self.assertEqual(status, 404, raw)
        for mid in movements:
            status, body, raw = self.req("GET", f"/api/stock-movements/{mid}")
            self.assertEqual(status, 404, raw)
        status, body, raw = self.req("GET", f"/api/stock-movements?product_id={pid}")
        self.assertEqual((status, body["count"]), (200, 0), raw)

        # now the supplier can go
        status, body, raw = self.req("DELETE", f"/api/suppliers/{sid}")
        self.assertEqual((status, raw), (204, b""))
        status, body, raw = self.req("GET", f"/api/suppliers/{sid}")
        self.assertEqual(status, 404, raw)
        status, body, raw = self.req("DELETE", f"/api/suppliers/{sid}")
        self.assertEqual(status, 404, raw)

    def test_products_page(self):
        # the server-rendered page: the product, its supplier (select_related), escaped
        sid = self.supplier("Page & <Co>")
        status, body, raw = self.req("POST", "/api/products",
                                     {"name": "<b>Saw</b>", "price": 12.5, "supplier_id": sid})
        self.assertEqual(status, 201, raw)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=HTTP_TIMEOUT)
        try:
            conn.request("GET", "/", headers={"Connection": "close", "Cookie": self.cookie})
            resp = conn.getresponse()
            page = resp.read().decode()
        finally:
            conn.close()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "text/html; charset=utf-8")
        self.assertIn("<title>Products · Inventory</title>", page)
        self.assertIn("&lt;b&gt;Saw&lt;/b&gt;</a></td>\n    <td>Page &amp; &lt;Co&gt;</td>", page)
        self.assertNotIn("<b>Saw</b>", page)

    def page(self, method, path, form=None):
        """A browser-like request: (status, headers, page text)."""
        return self.server.browse(method, path, self.cookie, self.csrf, form)

    def test_error_pages_for_browsers(self):
        # a browser gets the site's own page; an API client FastAPI's JSON
        status, headers, text = self.page("GET", "/no/such/page")
        self.assertEqual(status, 404)
        self.assertTrue(headers["Content-Type"].startswith("text/html"), headers)
        self.assertIn("There is no such page here.", text)
        self.assertIn('<a href="/">Back to the products</a>', text)
        status, body, raw = self.req("GET", "/no/such/page")
        self.assertEqual((status, body), (404, {"detail": "Not Found"}), raw)
        # an API route stays JSON even for a browser
        status, headers, text = self.page("GET", "/api/suppliers/999999")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(text), {"detail": "Not Found"})

    def test_supplier_form(self):
        # an HTML form validated like the API's bodies, shown again with its errors
        status, headers, text = self.page("GET", "/suppliers/new")
        self.assertEqual(status, 200)
        self.assertIn('<input type="text" name="name" id="id_name" value="" required '
                      'maxlength="200" minlength="1">', text)
        status, headers, text = self.page("POST", "/suppliers/new", {"name": "", "email": "a@b"})
        self.assertEqual(status, 422)
        self.assertIn('<p class="field error"><label for="id_name">Name</label>', text)
        self.assertIn('<span class="error">Field required</span>', text)
        self.assertIn('value="a@b"', text)  # what was typed comes back
        status, headers, text = self.page("POST", "/suppliers/new", {"name": "Form <Co>"})
        self.assertEqual((status, headers.get("Location")), (303, "/"), text)
        status, body, raw = self.req("GET", "/api/suppliers?name=Form%20%3CCo%3E")
        self.assertEqual(body["count"], 1, raw)
        status, headers, text = self.page("POST", "/suppliers/new", {"name": "Form <Co>"})
        self.assertEqual(status, 422)
        self.assertIn('value="Form &lt;Co&gt;" required maxlength="200" minlength="1"> '
                      '<span class="error">Supplier with this name already exists.</span>', text)

    def test_product_form_page(self):
        # CADRE_FORM_PAGE with a field list: a foreign key is a select of the related rows, the
        # other fields are never taken from the request, the database's refusals are per field
        sid = self.supplier("Select <Co>")
        status, headers, text = self.page("GET", "/products/new")
        self.assertEqual(status, 200)
        self.assertIn('<label for="id_supplier_id">Supplier</label> <select name="supplier_id" '
                      'id="id_supplier_id" required><option value="">---------</option>', text)
        self.assertIn('<option value="%d">Select &lt;Co&gt;</option>' % sid, text)
        self.assertNotIn('name="updated_at"', text)  # automatic: not a form field
        # a supplier that is not there: said beside the field, the select back on "---------"
        status, headers, text = self.page("POST", "/products/new",
                                          {"name": "Ghost drill", "price": "5",
                                           "supplier_id": "987654"})
        self.assertEqual(status, 422, text)
        self.assertIn('<option value="">---------</option>', text)
        self.assertIn('<span class="error">No supplier with id 987654</span>', text)
        self.assertIn('value="Ghost drill"', text)
        # fields outside the list are ignored, whatever is sent (no mass assignment)
        status, headers, text = self.page("POST", "/products/new",
                                          {"name": "Form drill", "price": "7.5",
                                           "supplier_id": str(sid), "id": "777777",
                                           "updated_at": "2001-01-01T00:00:00Z"})
        self.assertEqual((status, headers.get("Location")), (303, "/"), text)
        status, body, raw = self.req("GET", "/api/products?name=Form%20drill")
        self.assertEqual(body["count"], 1, raw)
        row = body["results"][0]
        self.assertNotEqual(row["id"], 777777)
        self.assertFalse(row["updated_at"].startswith("2001"), row)
        self.assertEqual((row["price"], row["supplier_id"]), (7.5, sid))
        # a JSON body is not a form
        status, _, raw = self.server.request("POST", "/products/new", {"name": "x"}, token=None,
                                             headers={"Cookie": self.cookie,
                                                      "X-CSRFToken": self.csrf})
        self.assertEqual(status, 415, raw)

    def test_parameter_names_are_text_in_errors(self):
        # issue #10: a query parameter's name comes back in the 422 as the second string of its
        # loc, whatever bytes it holds: never JSON syntax, never invalid UTF-8 (the writer puts
        # one U+FFFD per byte that is not UTF-8)
        def no_duplicates(pairs):
            keys = [k for k, _ in pairs]
            self.assertEqual(len(keys), len(set(keys)), pairs)
            return dict(pairs)

        codecs.register_error("cadre_per_byte",
                              lambda e: ("\ufffd" * (e.end - e.start), e.end))
        names = [b'x"]}],"injected":true', b'a"b', b"a\\", b"x\n", b"\xff", b"a\xff\xfeb",
                 b"\xe2\x82", b"x\xe2\x80\xa8y", b"\x00", b"limit\x00", b"name\x00x",
                 b"n" * 2000, b'"\\' * 1000, "caf\u00e9\U0001F600".encode()]
        for name in names:
            with self.subTest(name=name[:40]):
                path = "/api/suppliers?" + urllib.parse.quote(name, safe="") + "=1"
                status, _, raw = self.req("GET", path)
                self.assertEqual(status, 422, raw[:300])
                # strict: valid UTF-8, no raw control characters, no repeated member
                body = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
                self.assertEqual(list(body), ["detail"])
                self.assertEqual(len(body["detail"]), 1, body)
                loc = body["detail"][0]["loc"]
                self.assertEqual(loc, ["query", name.decode("utf-8", "cadre_per_byte")])
        # a key in the path is the number alone: /api/suppliers/%2010 is not supplier 10
        sid = self.supplier("Padding Co")
        status, body, raw = self.req("GET", f"/api/suppliers/{sid}")
        self.assertEqual((status, body["id"]), (200, sid), raw)
        for path in (f"/api/suppliers/%20{sid}", f"/api/suppliers/{sid}%20",
                     f"/api/suppliers/%2B{sid}", f"/api/suppliers/%09{sid}"):
            with self.subTest(path=path):
                status, body, raw = self.req("GET", path)
                self.assertEqual(status, 422, raw)
                self.assertEqual([(e["type"], e["loc"]) for e in body["detail"]],
                                 [("int_parsing", ["path", "id"])], raw)
        status, body, raw = self.req("GET", "/api/products/%201/stock")
        self.assertEqual(status, 422, raw)
        self.assertEqual([e["type"] for e in body["detail"]], ["int_parsing"], raw)

    def movement(self):
        """A product with one stock movement → the movement (its created_at set by the server)."""
        sid = self.supplier(f"Clock {time.monotonic_ns()}")
        status, prod, raw = self.req("POST", "/api/products",
                                     {"name": "Tick", "price": 1, "supplier_id": sid})
        self.assertEqual(status, 201, raw)
        status, mov, raw = self.req("POST", "/api/stock-movements",
                                    {"product_id": prod["id"], "quantity": 1})
        self.assertEqual(status, 201, raw)
        return mov

    def test_datetime_filters_compare_instants(self):
        # red team: whole-second and offset filter values compared as text against stored text
        mov = self.movement()
        at = datetime.datetime.fromisoformat(mov["created_at"].replace("Z", "+00:00"))
        self.assertEqual(at.utcoffset(), datetime.timedelta(0), mov)
        whole = at.replace(microsecond=0)
        base = f"/api/stock-movements?id={mov['id']}&created_at__"
        q = urllib.parse.quote
        for text in (whole.strftime("%Y-%m-%dT%H:%M:%SZ"), whole.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                     whole.isoformat()):
            with self.subTest(value=text):
                status, body, raw = self.req("GET", base + "gt=" + q(text))
                self.assertEqual((status, body["count"]), (200, 1 if at.microsecond else 0), raw)
                status, body, raw = self.req("GET", base + "lte=" + q(text))
                self.assertEqual((status, body["count"]), (200, 0 if at.microsecond else 1), raw)
        # an hour before, written with an offset: converted to UTC before comparing
        east = datetime.timezone(datetime.timedelta(hours=5))
        before = (at - datetime.timedelta(hours=1)).astimezone(east).isoformat()
        status, body, raw = self.req("GET", base + "gt=" + q(before))
        self.assertEqual((status, body["count"]), (200, 1), raw)
        status, body, raw = self.req("GET", base + "lt=" + q(before))
        self.assertEqual((status, body["count"]), (200, 0), raw)
        # the exact instant, written in any form
        status, body, raw = self.req("GET", base + "exact=" + q(at.astimezone(east).isoformat()))
        self.assertEqual((status, body["count"]), (200, 1), raw)

    def test_bad_filter_values_are_422(self):
        mov = self.movement()
        nul = {"type": "value_error", "msg": "Value error, Null characters are not allowed."}
        for path in ("/api/suppliers?name__icontains=%00", "/api/suppliers?name__contains=a%00zzz",
                     "/api/suppliers?name=Acme%00", f"/api/stock-movements?id={mov['id']}%00"):
            with self.subTest(path=path):
                status, body, raw = self.req("GET", path)
                self.assertEqual(status, 422, raw)
                self.assertEqual({k: body["detail"][0][k] for k in nul}, nul, raw)
        for value in ("yes", "maybe", "", "2"):
            with self.subTest(isnull=value):
                status, body, raw = self.req("GET", f"/api/suppliers?email__isnull={value}")
                self.assertEqual(status, 422, raw)
                self.assertEqual(body["detail"][0]["type"], "bool_parsing", raw)
                self.assertEqual(body["detail"][0]["input"], value, raw)
        sid = self.supplier(f"Null Test {time.monotonic_ns()}")
        for value, isnull in (("TRUE", True), ("true", True), ("1", True), ("False", False),
                              ("0", False)):
            with self.subTest(isnull=value):
                status, body, raw = self.req("GET", f"/api/suppliers?id={sid}&email__isnull={value}")
                self.assertEqual((status, body["count"]), (200, 1 if isnull else 0), raw)
        status, body, raw = self.req("GET", "/api/suppliers?offset=-1")
        self.assertEqual((status, body), (422, {"detail": [{
            "type": "greater_than_equal", "loc": ["query", "offset"],
            "msg": "Input should be greater than or equal to 0", "input": "-1", "ctx": {"ge": 0}}]}),
            raw)
        status, body, raw = self.req("GET", "/api/suppliers?limit=99999999999999999999")
        self.assertEqual((status, body), (422, {"detail": [{
            "type": "less_than_equal", "loc": ["query", "limit"],
            "msg": "Input should be less than or equal to 9223372036854775807",
            "input": "99999999999999999999", "ctx": {"le": 9223372036854775807}}]}), raw)
        status, body, raw = self.req("POST", "/api/products", {
            "name": "Huge", "price": 1, "supplier_id": 99999999999999999999})
        self.assertEqual(status, 422, raw)
        self.assertEqual([(e["type"], e["loc"]) for e in body["detail"]],
                         [("less_than_equal", ["body", "supplier_id"])], raw)

    def test_nul_in_string_fields_is_422(self):
        # the JSON API and the HTML form alike, on both engines (PostgreSQL cannot store a NUL)
        status, body, raw = self.req("POST", "/api/suppliers", {"name": "a\u0000b"})
        self.assertEqual((status, body), (422, {"detail": [{
            "type": "value_error", "loc": ["body", "name"],
            "msg": "Value error, Null characters are not allowed.", "input": "a\u0000b",
            "ctx": {"error": {}}}]}), raw)
        sid = self.supplier(f"Nul Test {time.monotonic_ns()}")
        status, body, raw = self.req("PATCH", f"/api/suppliers/{sid}", {"email": "x\u0000@y"})
        self.assertEqual(status, 422, raw)
        status, headers, text = self.page("POST", "/suppliers/new", {"name": "c\x00d"})
        self.assertEqual(status, 422, text)
        self.assertIn("Null characters are not allowed.", text)
        status, body, raw = self.req("GET", "/api/suppliers?name__startswith=c")
        self.assertEqual((status, body["count"]), (200, 0), raw)

    def test_conflicts_are_not_logged_at_info(self):
        # red team: each 409 wrote an INFO line with the database's message
        name = f"Dup {time.monotonic_ns()}"
        self.supplier(name)
        before = len(self.server.lines)
        for _ in range(5):
            status, body, raw = self.req("POST", "/api/suppliers", {"name": name})
            self.assertEqual(status, 409, raw)
        time.sleep(0.2)  # the stderr pump
        logged = "".join(self.server.lines[before:])
        self.assertNotIn("UNIQUE", logged)
        self.assertNotIn("duplicate key", logged)

    def test_openapi(self):
        status, body, raw = self.req("GET", "/openapi.json")
        self.assertEqual(status, 200, raw)
        for path in ("/api/suppliers", "/api/products/{id}", "/api/products/{id}/stock"):
            self.assertIn(path, body["paths"])
        # the API's operations say how they authenticate and that they may refuse (401, and 403:
        # the model's permissions, the stock route's guard)
        self.assertEqual(set(body["components"]["securitySchemes"]), {"sessionCookie", "bearerToken"})
        for path, method in (("/api/suppliers", "get"), ("/api/suppliers", "post"),
                             ("/api/products/{id}", "delete"), ("/api/products/{id}/stock", "get")):
            op = body["paths"][path][method]
            self.assertTrue(op["security"], (path, method))
            self.assertLessEqual({"401", "403"}, set(op["responses"]), (path, method))

    def test_zz_server_still_running(self):
        # last by name: nothing above brought the server down
        status, _, raw = self.req("GET", "/openapi.json")
        self.assertEqual(status, 200, raw)
        self.assertTrue(self.server.alive())


class PermissionsTest(ServedTest):
    """Who may do what, over real sockets: anonymous, a user without permissions, a staff clerk
    (the staff group: view, add and change, delete nothing), a superuser, an inactive user; by
    API token, scoped token and browser session; revoked and expired tokens."""

    @classmethod
    def prepare(cls):
        super().prepare()
        cls.admin = cls.db.admin_token()
        cls.db.user("clerk", "clerk pass 12", "--staff")
        cls.db.user("plain", "plain pass 12")
        cls.db.user("gone", "gone pass 12")
        perms = ["inventory.%s_%s" % (a, m) for a in ("view", "add", "change")
                 for m in ("supplier", "product", "stock_movement")]
        rc, out, err = cls.db.run("group", "staff", "--add", "clerk",
                                  *[x for p in perms for x in ("--grant", p)])
        assert rc == 0, out + err
        cls.db.user("adder", "adder pass 12")
        rc, out, err = cls.db.run("group", "adders", "--add", "adder", "--grant",
                                  "inventory.view_product", "--grant", "inventory.add_product")
        assert rc == 0, out + err
        cls.clerk = cls.db.token("clerk")
        cls.reader = cls.db.token("clerk", "--scopes", "inventory.view_*")
        cls.plain = cls.db.token("plain")
        cls.gone = cls.db.token("gone")

    def req(self, token, method, path, body=None, headers=None):
        status, body, raw = self.server.request(method, path, body, token=token, headers=headers)
        return status, body

    def test_api_by_token(self):
        srv = self.server
        status, body = self.req(self.admin, "POST", "/api/suppliers", {"name": "Perm Co"})
        self.assertEqual(status, 201, body)
        sid = body["id"]
        # anonymous: 401 with the challenge; no permission: 403
        self.assertEqual(self.req(None, "GET", "/api/products")[0], 401)
        self.assertEqual(srv.last_headers.get("WWW-Authenticate"), "Bearer")
        self.assertEqual(self.req(None, "POST", "/api/suppliers", {"name": "x"})[0], 401)
        self.assertEqual(self.req(self.plain, "GET", "/api/products"),
                         (403, {"detail": "You do not have permission to perform this action."}))
        self.assertEqual(self.req(self.plain, "GET", "/api/products/1/stock")[0], 403)
        # the clerk: views, adds and changes; deletes nothing
        status, prod = self.req(self.clerk, "POST", "/api/products",
                                {"name": "Perm saw", "price": 3, "supplier_id": sid})
        self.assertEqual(status, 201, prod)
        self.assertEqual(self.req(self.clerk, "PATCH", f"/api/products/{prod['id']}",
                                  {"price": 4})[0], 200)
        self.assertEqual(self.req(self.clerk, "GET", f"/api/products/{prod['id']}/stock")[0], 200)
        self.assertEqual(self.req(self.clerk, "DELETE", f"/api/products/{prod['id']}")[0], 403)
        self.assertEqual(self.req(self.clerk, "DELETE", f"/api/suppliers/{sid}")[0], 403)
        # a token scoped to viewing: its user's other rights are not its own
        self.assertEqual(self.req(self.reader, "GET", f"/api/products/{prod['id']}")[0], 200)
        self.assertEqual(self.req(self.reader, "PATCH", f"/api/products/{prod['id']}",
                                  {"price": 5})[0], 403)
        self.assertIn('error="insufficient_scope"', srv.last_headers.get("WWW-Authenticate"))
        # the superuser deletes
        self.assertEqual(self.req(self.admin, "DELETE", f"/api/products/{prod['id']}")[0], 204)
        self.assertEqual(self.req(self.admin, "DELETE", f"/api/suppliers/{sid}")[0], 204)

    def test_inactive_revoked_and_expired_tokens(self):
        # the token works (403: known, not permitted) until its user is deactivated (401)
        self.assertEqual(self.req(self.gone, "GET", "/api/suppliers")[0], 403)
        self.db.sql("UPDATE cadre_user SET is_active = FALSE WHERE username = 'gone'")
        self.assertEqual(self.req(self.gone, "GET", "/api/suppliers")[0], 401)
        self.assertIn('error="invalid_token"', self.server.last_headers["WWW-Authenticate"])
        for how in ("revoke", "expire"):
            token = self.db.token("clerk")
            self.assertEqual(self.req(token, "GET", "/api/suppliers")[0], 200, how)
            prefix = token.split("_")[1]
            if how == "revoke":
                rc, out, err = self.db.run("tokens")
                tid = re.search(r"^(\d+) .*" + prefix, out, re.M).group(1)
                self.assertEqual(self.db.run("revoketoken", tid)[0], 0)
            else:
                self.db.sql("UPDATE cadre_token SET expires = '2001-01-01T00:00:00Z' "
                            f"WHERE prefix = '{prefix}'")
            self.assertEqual(self.req(token, "GET", "/api/suppliers")[0], 401, how)

    def page_text(self, path, cookie):
        """GET path as a browser with cookie → (status, the HTML as text)."""
        status, _, raw = self.server.request("GET", path, token=None,
                                             headers={"Accept": "text/html", "Cookie": cookie})
        return status, raw.decode()

    def test_pages_and_api_by_session(self):
        html = {"Accept": "text/html"}
        status, _ = self.req(None, "GET", "/", headers=html)
        self.assertEqual((status, self.server.last_headers["Location"]),
                         (302, "/accounts/login/?next=/"))
        cookie, csrf = self.server.login("plain", "plain pass 12")
        status, _ = self.req(None, "GET", "/suppliers/new", headers={**html, "Cookie": cookie})
        self.assertEqual(status, 403)
        cookie, csrf = self.server.login("clerk", "clerk pass 12")
        status, _ = self.req(None, "GET", "/", headers={**html, "Cookie": cookie})
        self.assertEqual(status, 200)
        # a form lists the related rows its user may view: the clerk sees the suppliers by name,
        # a user who may add products but not view suppliers gets a number input, no names
        status, row = self.req(self.admin, "POST", "/api/suppliers", {"name": "Hidden Supplies"})
        self.assertEqual(status, 201, row)
        status, raw = self.page_text("/products/new", cookie)
        self.assertEqual(status, 200)
        self.assertIn('<select name="supplier_id"', raw)
        self.assertIn(">Hidden Supplies</option>", raw)
        adder, _ = self.server.login("adder", "adder pass 12")
        status, raw = self.page_text("/products/new", adder)
        self.assertEqual(status, 200)
        self.assertIn('name="supplier_id"', raw)
        self.assertNotIn('<select name="supplier_id"', raw)
        self.assertNotIn("Hidden Supplies", raw)
        self.assertEqual(self.req(self.admin, "DELETE", f"/api/suppliers/{row['id']}")[0], 204)
        # the API with the session: the CSRF token is needed for a write, not a token
        body = {"name": f"Session Co {time.monotonic_ns()}"}
        status, detail = self.req(None, "POST", "/api/suppliers", body, {"Cookie": cookie})
        self.assertEqual(status, 403, detail)
        status, row = self.req(None, "POST", "/api/suppliers", body,
                               {"Cookie": cookie, "X-CSRFToken": csrf})
        self.assertEqual(status, 201, row)
        status, _ = self.req(None, "DELETE", f"/api/suppliers/{row['id']}", None,
                             {"Cookie": cookie, "X-CSRFToken": csrf})
        self.assertEqual(status, 403)

    def form(self, path, cookie, csrf, fields):
        """POSTs a form as a browser with cookie → (status, headers, page text)."""
        return self.server.browse("POST", path, cookie, csrf, fields)

    def test_product_page_records_movements(self):
        # a product's page: its stock from the movements, the last ones, and a form that records
        # one — for those who may add movements; those who may only view products see the page
        status, sup = self.req(self.admin, "POST", "/api/suppliers", {"name": "Page Co"})
        self.assertEqual(status, 201, sup)
        status, prod = self.req(self.admin, "POST", "/api/products",
                                {"name": "Page <drill>", "price": 9, "supplier_id": sup["id"]})
        self.assertEqual(status, 201, prod)
        path = f"/products/{prod['id']}"
        clerk, clerk_csrf = self.server.login("clerk", "clerk pass 12")
        status, html = self.page_text(path, clerk)
        self.assertEqual(status, 200, html)
        self.assertIn("<h1>Page &lt;drill&gt;</h1>", html)
        self.assertIn("<strong>0</strong> in stock, from 0 movements.", html)
        self.assertIn('name="quantity"', html)
        self.assertNotIn('name="product_id"', html)  # from the path, never from the form
        # goods in, goods out: each a row, the page shows the sum and the newest first
        for qty, note in ((12, "delivery"), (-5, "sold <3>")):
            status, headers, text = self.form(path, clerk, clerk_csrf,
                                              {"quantity": str(qty), "note": note,
                                               "product_id": "1"})
            self.assertEqual((status, headers.get("Location")), (303, path), text)
        status, html = self.page_text(path, clerk)
        self.assertIn("<strong>7</strong> in stock, from 2 movements.", html)
        self.assertLess(html.index("sold &lt;3&gt;"), html.index("delivery"))
        status, body = self.req(self.admin, "GET", f"/api/products/{prod['id']}/stock")
        self.assertEqual((status, body["quantity"], body["movements"]), (200, 7, 2), body)
        # a quantity that is not a number: the form again with the error beside it, nothing added
        status, _, text = self.form(path, clerk, clerk_csrf, {"quantity": "many"})
        self.assertEqual(status, 422, text)
        self.assertIn('value="many"', text)
        self.assertIn('<span class="error">Input should be a valid integer', text)
        self.assertIn("<strong>7</strong> in stock", text)
        # no such product: 404 to look at and to record into
        self.assertEqual(self.page_text("/products/987654", clerk)[0], 404)
        self.assertEqual(self.form("/products/987654", clerk, clerk_csrf, {"quantity": "1"})[0],
                         404)
        # may view products, not add movements: the page, not the write
        adder, adder_csrf = self.server.login("adder", "adder pass 12")
        self.assertEqual(self.page_text(path, adder)[0], 200)
        self.assertEqual(self.form(path, adder, adder_csrf, {"quantity": "100"})[0], 403)
        # may not view products: not even the page
        plain, _ = self.server.login("plain", "plain pass 12")
        self.assertEqual(self.page_text(path, plain)[0], 403)
        status, body = self.req(self.admin, "GET", f"/api/products/{prod['id']}/stock")
        self.assertEqual(body["quantity"], 7, body)
        self.assertEqual(self.req(self.admin, "DELETE", f"/api/products/{prod['id']}")[0], 204)
        self.assertEqual(self.req(self.admin, "DELETE", f"/api/suppliers/{sup['id']}")[0], 204)


class AdminTest(ServedTest):
    """The admin site over real sockets: who may see it, the index by permission, and the change
    list's columns (a foreign key's label, read in the same query), order, search and pages."""

    @classmethod
    def prepare(cls):
        super().prepare()
        cls.db.user("ops", "ops pass 12", "super")
        cls.db.user("clerk", "clerk pass 12", "--staff")
        cls.db.user("plain", "plain pass 12")
        rc, out, err = cls.db.run("group", "staff", "--add", "clerk", "--grant",
                                  "inventory.view_supplier", "--grant", "inventory.view_product")
        assert rc == 0, out + err
        rows = ", ".join(f"('Supplier {i:03d}', 's{i}@example.com')" for i in range(1, 106))
        cls.db.sql(f"INSERT INTO supplier (name, email) VALUES {rows}",
                   "INSERT INTO supplier (name) VALUES ('<script>x</script> & Co')",
                   "INSERT INTO product (name, price, supplier_id, updated_at) SELECT 'Drill', 9.5, "
                   "id, '2026-01-02T03:04:05.000000Z' FROM supplier WHERE name = 'Supplier 007'",
                   "INSERT INTO product (name, price, supplier_id, updated_at) SELECT 'Hammer', 5, "
                   "id, '2026-01-02T03:04:05.000000Z' FROM supplier WHERE name = 'Supplier 008'",
                   "INSERT INTO stock_movement (product_id, quantity, note, created_at) SELECT id, q, "
                   "'', '2026-01-02T03:04:05.000000Z' FROM product, (SELECT 3 AS q UNION ALL "
                   "SELECT -1) moves WHERE name = 'Hammer'")
        cls.db.user("remover", "remover pass 12", "--staff")
        rc, out, err = cls.db.run("group", "removers", "--add", "remover", "--grant",
                                  "inventory.view_product", "--grant", "inventory.delete_product")
        assert rc == 0, out + err

    @classmethod
    def served(cls):
        cls.sessions = {n: cls.server.login(n, f"{n} pass 12")
                        for n in ("ops", "clerk", "plain", "remover")}
        cls.cookies = {n: v[0] for n, v in cls.sessions.items()}

    def post(self, path, who, form, csrf=True):
        """POSTs form (a dict, or a list of (key, value) for repeated keys) as a browser does,
        with who's session and CSRF token → (status, Location or the HTML)."""
        cookie, token = self.sessions[who]
        headers = {"Accept": "text/html", "Cookie": cookie,
                   "Content-Type": "application/x-www-form-urlencoded",
                   "Origin": f"http://127.0.0.1:{self.server.port}"}
        if csrf:
            headers["X-CSRFToken"] = token
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=HTTP_TIMEOUT)
        try:
            conn.request("POST", path, body=urllib.parse.urlencode(form), headers=headers)
            resp = conn.getresponse()
            body = resp.read().decode()
            return resp.status, resp.getheader("Location") or body
        finally:
            conn.close()

    def test_filters(self):
        url = "/admin/inventory/product/"
        status, html = self.page(url, "ops")
        sid = int(re.search(r'href="/admin/inventory/product/\?supplier_id=(\d+)">Supplier 007<', html)
                  .group(1))
        # a foreign key's rows, the others' rows gone; the filter kept by the sort links
        status, html = self.page(f"{url}?supplier_id={sid}", "ops")
        self.assertEqual([r[1] for r in self.rows(html)], ["Drill"])
        self.assertIn(f'href="{url}?supplier_id={sid}&amp;o=name"', html)
        self.assertIn('<li class="selected"><a href="', html)
        self.assertIn(f'<input type="hidden" name="supplier_id" value="{sid}">', html)
        # dates: Drill changed in January of this year (the test's data), not this month
        self.assertEqual([r[1] for r in self.rows(self.page(f"{url}?updated_at=year", "ops")[1])
                          if r[1] == "Drill"], ["Drill"] if time.gmtime().tm_year == 2026 else [])
        if time.gmtime().tm_mon != 1:
            self.assertNotIn("Drill", [r[1] for r in self.rows(self.page(f"{url}?updated_at=month",
                                                                         "ops")[1])])
        # booleans, on the users: staff or not
        status, html = self.page("/admin/auth/cadre_user/?is_staff=0", "ops")
        self.assertEqual([r[1] for r in self.rows(html)], ["plain"])
        status, html = self.page("/admin/auth/cadre_user/?is_superuser=1&is_staff=1", "ops")
        self.assertEqual([r[1] for r in self.rows(html)], ["ops"])
        # a value that is none of the filter's: no filter
        status, html = self.page(f"{url}?supplier_id=x&updated_at=yesterday", "ops")
        self.assertEqual(status, 200)
        self.assertIn("Drill", html)

    def test_delete_with_what_it_takes_along(self):
        status, html = self.page("/admin/inventory/product/?q=hammer", "ops")
        pid = int(re.search(r'href="/admin/inventory/product/(\d+)/change/"', html).group(1))
        url = f"/admin/inventory/product/{pid}/delete/"
        # who may not: the clerk (no delete permission); the remover may delete products but not
        # the stock movements a product's deletion takes along
        self.assertEqual(self.page(url, "clerk")[0], 403)
        status, html = self.page(url, "remover")
        self.assertEqual(status, 200)
        self.assertIn("Cannot delete product", html)
        self.assertIn("2 stock_movement rows (product_id): you may not delete them", html)
        self.assertEqual(self.post(url, "remover", {})[0], 403)
        # the superuser: what goes with it, then gone with its movements
        status, html = self.page(url, "ops")
        self.assertIn("Are you sure you want to delete the product “Hammer”?", html)
        self.assertIn("2 stock_movement rows (product_id): deleted", html)
        self.assertEqual(self.post(url, "ops", {}, csrf=False)[0], 403)  # CSRF
        self.assertEqual(self.post(url, "ops", {}), (303, "/admin/inventory/product/"))
        self.assertEqual(self.page(url, "ops")[0], 404)
        status, html = self.page("/admin/inventory/stock_movement/", "ops")
        self.assertIn("No stock movements.", html)
        # a supplier its products protect: said, and refused
        status, html = self.page("/admin/inventory/supplier/?q=supplier+007", "ops")
        sid = int(re.search(r'href="/admin/inventory/supplier/(\d+)/change/"', html).group(1))
        status, html = self.page(f"/admin/inventory/supplier/{sid}/delete/", "ops")
        self.assertIn("Cannot delete supplier", html)
        self.assertIn("1 product row (supplier_id): protected", html)
        self.assertEqual(self.post(f"/admin/inventory/supplier/{sid}/delete/", "ops", {})[0], 403)
        self.assertEqual(self.page(f"/admin/inventory/supplier/{sid}/change/", "ops")[0], 200)

    def test_actions_on_selected_rows(self):
        url = "/admin/inventory/supplier/"
        self.db.sql("INSERT INTO supplier (name) VALUES ('Action One'), ('Action Two'), "
                    "('Action Kept')")
        self.addCleanup(self.db.sql, "DELETE FROM supplier WHERE name LIKE 'Action%'")
        status, html = self.page(url + "?q=action", "ops")
        ids = dict((name, int(i)) for i, name in re.findall(
            r'value="(\d+)" aria-label="Select row \d+"></td><td><a href="[^"]*">\d+</a></td>'
            r'<td>([^<]*)</td>', html))
        self.assertEqual(set(ids), {"Action One", "Action Two", "Action Kept"})
        self.assertIn('<option value="delete_selected">Delete selected suppliers</option>', html)
        # the clerk may not delete: no such action offered, and refused
        self.assertNotIn("delete_selected", self.page(url, "clerk")[1])
        sel = [("_selected_action", ids["Action One"]), ("_selected_action", ids["Action Two"])]
        self.assertEqual(self.post(url, "clerk", [("action", "delete_selected")] + sel)[0], 403)
        # first the confirmation, listing the rows; then deleted, each in the history
        status, html = self.post(url, "ops", [("action", "delete_selected")] + sel)
        self.assertEqual(status, 200)
        self.assertIn("<li>Action One", html)
        self.assertIn("<li>Action Two", html)
        self.assertNotIn("Action Kept", html)
        self.assertEqual(self.post(url, "ops", [("action", "delete_selected"), ("post", "yes")]
                                         + sel), (303, url))
        status, html = self.page(url + "?q=action", "ops")
        self.assertEqual([r[1] for r in self.rows(html)], ["Action Kept"])
        # nothing selected: back to the list; an unknown action: 400
        self.assertEqual(self.post(url, "ops", [("action", "delete_selected")]), (303, url))
        self.assertEqual(self.post(url, "ops", [("action", "nope"),
                                                      ("_selected_action", ids["Action Kept"])])[0],
                         400)
        # a protected row stops the deletion of all the selected ones
        status, html = self.page("/admin/inventory/supplier/?q=supplier+007", "ops")
        sid = re.search(r'name="_selected_action" value="(\d+)"', html).group(1)
        status, html = self.post(url, "ops", [("action", "delete_selected"),
                                                    ("_selected_action", sid)])
        self.assertIn("Cannot delete", html)
        self.assertEqual(self.post(url, "ops", [("action", "delete_selected"), ("post", "yes"),
                                                      ("_selected_action", sid)])[0], 403)

    def test_user_action(self):
        url = "/admin/inventory/product/"
        status, html = self.page(url + "?q=drill", "ops")
        self.assertIn('<option value="discount">Lower the price by 10 %</option>', html)
        pid = re.search(r'name="_selected_action" value="(\d+)"', html).group(1)
        self.assertEqual(self.post(url, "ops", [("action", "discount"),
                                                      ("_selected_action", pid)]), (303, url))
        status, html = self.page(url + "?q=drill", "ops")
        self.assertEqual(self.rows(html)[0][2], "8.55")
        self.db.sql(f"UPDATE product SET price = 9.5 WHERE id = {int(pid)}")
        # the clerk may view products but not change them: not offered, refused
        self.assertNotIn('value="discount"', self.page(url, "clerk")[1])
        self.assertEqual(self.post(url, "clerk", [("action", "discount"),
                                                        ("_selected_action", pid)])[0], 403)

    def test_add_and_change_forms(self):
        url = "/admin/inventory/supplier/"
        self.addCleanup(self.db.sql, "DELETE FROM supplier WHERE name LIKE 'Forms%'")
        status, html = self.page(url + "add/", "ops")
        self.assertEqual(status, 200)
        self.assertIn('name="name"', html)
        self.assertNotIn('name="id"', html)  # the key is not a form field
        # errors beside the fields, what was typed kept; the key sent is ignored
        status, html = self.post(url + "add/", "ops", {"name": "", "email": "a@b.c", "id": "999"})
        self.assertEqual(status, 422)
        self.assertIn("Please correct the error below.", html)
        self.assertIn('value="a@b.c"', html)
        # a name taken: the database's refusal beside the field
        status, html = self.post(url + "add/", "ops", {"name": "Supplier 001", "email": ""})
        self.assertEqual(status, 422)
        self.assertIn("Supplier with this name already exists.", html)
        # saved: each button goes where it says
        status, to = self.post(url + "add/", "ops", {"name": "Forms Ltd", "_save": ""})
        self.assertEqual((status, to), (303, url))
        status, to = self.post(url + "add/", "ops", {"name": "Forms Two", "_addanother": "1"})
        self.assertEqual((status, to), (303, url + "add/"))
        status, to = self.post(url + "add/", "ops", {"name": "Forms Three", "_continue": "1"})
        self.assertEqual(status, 303)
        m = re.fullmatch(re.escape(url) + r"(\d+)/change/", to)
        self.assertTrue(m, to)
        sid = int(m.group(1))
        self.assertNotEqual(sid, 999)
        status, html = self.page(to, "ops")
        self.assertEqual(status, 200)
        self.assertIn('value="Forms Three"', html)
        # changed, the rest kept
        status, to = self.post(to, "ops", {"name": "Forms 3", "email": "three@example.com"})
        self.assertEqual((status, to), (303, url))
        status, html = self.page(url + "?q=three%40example", "ops")
        self.assertEqual([r[1:] for r in self.rows(html)], [["Forms 3", "three@example.com"]])
        self.assertIn(f'href="{url}{sid}/change/"', html)
        # the history: who added it, then which fields the change wrote, old → new
        status, html = self.page(f"{url}{sid}/history/", "ops")
        self.assertEqual(status, 200)
        body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        entries = [[" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in
                    re.findall(r"<td>(.*?)</td>", tr, re.S)]
                   for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]
        self.assertEqual([e[1:] for e in entries],  # newest first
                         [["ops", 'name: &#34;Forms Three&#34; → &#34;Forms 3&#34; '
                                  'email: &#34;&#34; → &#34;three@example.com&#34;'],
                          ["ops", "Added."]])
        self.assertRegex(entries[0][0], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
        self.assertEqual(self.page(f"{url}{sid}/history/", "plain")[0], 403)
        # no such row, or no number: 404
        for bad in ("987654", "abc", "0"):
            self.assertEqual(self.page(f"{url}{bad}/change/", "ops")[0], 404, bad)
        # without the CSRF token: refused
        self.assertEqual(self.post(url + "add/", "ops", {"name": "No Token"}, csrf=False)[0], 403)
        # a user who may only view: the row read-only, no add link, writes refused
        status, html = self.page(f"{url}{sid}/change/", "clerk")
        self.assertEqual(status, 200)
        self.assertIn("View supplier", html)
        self.assertNotIn('<form method="post" enctype', html)
        self.assertIn("Forms 3", html)
        self.assertNotIn("Add supplier", self.page(url, "clerk")[1])
        self.assertIn("Add supplier", self.page(url, "ops")[1])
        self.assertEqual(self.post(f"{url}{sid}/change/", "clerk", {"name": "Mine"})[0], 403)
        self.assertEqual(self.page(url + "add/", "clerk")[0], 403)
        self.assertEqual(self.post(url + "add/", "clerk", {"name": "Mine"})[0], 403)

    def page(self, path, who=None, accept="text/html"):
        headers = {"Accept": accept}
        if who:
            headers["Cookie"] = self.cookies[who]
        status, _, raw = self.server.request("GET", path, token=None, headers=headers)
        return status, raw.decode()

    @staticmethod
    def rows(html):
        """The change list's rows, each a list of its cells' text."""
        body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        rows = [re.findall(r"<td>(.*?)</td>", tr) for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]
        return [r for r in rows if r]  # not the "No products." row

    def test_who_may_see_it(self):
        status, _ = self.page("/admin/")
        self.assertEqual((status, self.server.last_headers["Location"]),
                         (302, "/accounts/login/?next=/admin/"))
        self.assertEqual(self.page("/admin/", accept="application/json")[0], 401)
        status, html = self.page("/admin/", "plain")  # not staff
        self.assertEqual(status, 403)
        self.assertIn("text/html", self.server.last_headers["Content-Type"])
        # the superuser sees every registered model; the clerk those he may view
        status, html = self.page("/admin/", "ops")
        self.assertEqual(status, 200)
        for link in ("/admin/inventory/supplier/", "/admin/inventory/product/",
                     "/admin/inventory/stock_movement/", "/admin/auth/cadre_user/"):
            self.assertIn(f'href="{link}"', html)
        status, html = self.page("/admin/", "clerk")
        self.assertEqual(status, 200)
        self.assertIn('href="/admin/inventory/product/"', html)
        self.assertNotIn("stock_movement/", html)
        self.assertNotIn("cadre_user/", html)
        self.assertEqual(self.page("/admin/auth/cadre_user/", "clerk")[0], 403)
        self.assertEqual(self.page("/admin/inventory/stock_movement/", "clerk")[0], 403)
        # the stylesheet is the module's own
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=HTTP_TIMEOUT)
        conn.request("GET", "/admin/static/admin.css")
        resp = conn.getresponse()
        self.assertEqual((resp.status, resp.getheader("Content-Type")),
                         (200, "text/css; charset=utf-8"))
        self.assertIn(b"prefers-color-scheme: dark", resp.read())
        conn.close()

    def test_change_list_pages_order_and_search(self):
        status, html = self.page("/admin/inventory/supplier/", "clerk")
        self.assertEqual(status, 200)
        rows = self.rows(html)
        self.assertEqual(len(rows), 100)  # a page: 100 rows, by name (the registered ordering)
        self.assertEqual(rows[0][1], "&lt;script&gt;x&lt;/script&gt; &amp; Co")
        self.assertEqual(rows[1][1:], ["Supplier 001", "s1@example.com"])
        self.assertIn("106 suppliers", html)
        self.assertIn('href="/admin/inventory/supplier/?p=2" rel="next"', html)
        status, html = self.page("/admin/inventory/supplier/?p=2", "clerk")
        self.assertEqual([r[1] for r in self.rows(html)],
                         ["Supplier 100", "Supplier 101", "Supplier 102", "Supplier 103",
                          "Supplier 104", "Supplier 105"])
        self.assertIn("Page 2 of 2", html)
        for bad in ("3", "0", "x", "-1", "99999999999999999999"):
            self.assertEqual(self.page(f"/admin/inventory/supplier/?p={bad}", "clerk")[0], 404, bad)
        # a column's heading sorts by it, and again the other way
        self.assertIn('href="/admin/inventory/supplier/?o=email"', html)
        status, html = self.page("/admin/inventory/supplier/?o=-name", "clerk")
        self.assertEqual(self.rows(html)[0][1], "Supplier 105")
        self.assertIn('aria-sort="descending"', html)
        self.assertIn('href="/admin/inventory/supplier/?o=name"', html)
        self.assertEqual(self.page("/admin/inventory/supplier/?o=nope", "clerk")[0], 200)
        # the app's own template for this model's list only (admin/inventory/supplier/...)
        self.assertIn("A supplier with products cannot be deleted", html)
        self.assertNotIn("A supplier with products", self.page("/admin/inventory/product/", "clerk")[1])
        # ordered by the key: Previous and Next go by key (keyset pagination), not by offset
        url = "/admin/inventory/supplier/"
        ids = lambda html: [int(i) for i in re.findall(r'href="/admin/inventory/supplier/(\d+)/change/"',
                                                       html)]
        status, html = self.page(f"{url}?o=id", "clerk")
        first = ids(html)
        self.assertEqual((status, len(first), first, '<span class="this-page" aria-current="page">1</span>' in html),
                         (200, 100, sorted(first), True))
        nxt = re.search(r'href="([^"]*)" rel="next"', html).group(1).replace("&amp;", "&")
        self.assertEqual(nxt, f"{url}?o=id&p=2&after={first[-1]}")
        status, html = self.page(nxt, "clerk")
        second = ids(html)
        self.assertEqual((status, len(second), second[0] > first[-1]), (200, 6, True), html)
        self.assertIn("Page 2 of 2", html)
        self.assertNotIn('rel="next"', html)
        self.assertIn(f'href="{url}?o=id" rel="prev"', html)
        self.assertIn(f'<a href="{url}?o=id">1</a>', html)  # the page links
        # before a key: the rows just ahead of it, in the list's order
        status, html = self.page(f"{url}?o=id&p=1&before={second[0]}", "clerk")
        self.assertEqual((status, ids(html)), (200, first))
        self.assertIn(f"after={first[-1]}\" rel=\"next\"", html)
        status, html = self.page(f"{url}?o=-id&p=2&after={first[1]}", "clerk")
        self.assertEqual(ids(html), [first[0]])  # descending: what follows is smaller
        self.assertEqual(self.page(f"{url}?o=id&p=3&after={second[-1]}", "clerk")[0], 404)
        # by a column that is not the key: by offset, the same rows
        status, html = self.page(f"{url}?o=email&p=2", "clerk")
        self.assertEqual(len(ids(html)), 6)
        self.assertNotIn("after=", html)
        # search: each word in one of the fields; the count beside the total
        status, html = self.page("/admin/inventory/supplier/?q=supplier+00", "clerk")
        self.assertEqual([r[1] for r in self.rows(html)],
                         [f"Supplier 00{i}" for i in range(1, 10)] + ["Supplier 100"])
        self.assertIn("10 results", html)
        self.assertIn("106 total", html)
        status, html = self.page("/admin/inventory/supplier/?q=S42%40EXAMPLE", "clerk")
        self.assertEqual([r[1] for r in self.rows(html)], ["Supplier 042"])
        self.assertIn('value="S42@EXAMPLE"', html)
        # a foreign key shows its row's label; a datetime, to the second
        status, html = self.page("/admin/inventory/product/", "clerk")
        self.assertEqual(status, 200)
        self.assertEqual(self.rows(html)[0][1:], ["Drill", "9.5", "Supplier 007",
                                                  "2026-01-02 03:04:05 UTC", "0"])
        # the app's computed column (cadre_admin_column): the sum of the product's movements
        self.assertEqual(self.rows(html)[1][1], "Hammer")
        self.assertEqual(self.rows(html)[1][-1], "2")
        self.assertIn("<th scope=\"col\">In stock</th>", html)
        self.assertIn(">Supplier</a></th>", html)
        status, html = self.page("/admin/inventory/product/?q=nothing-like-it", "clerk")
        self.assertIn("No products.", html)


    def csv(self, path, who):
        """GET an export → (status, headers dict, rows as lists)."""
        import csv
        import io
        headers = {"Accept": "text/html", "Cookie": self.cookies[who]}
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=HTTP_TIMEOUT)
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read().decode()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        rows = list(csv.reader(io.StringIO(body, newline=""))) if resp.status == 200 else body
        return resp.status, hdrs, rows

    def test_foreign_key_autocomplete(self):
        # 106 suppliers: more than a select lists, so the product form's supplier is an input
        # that asks the admin for the rows whose name holds what is typed
        status, html = self.page("/admin/inventory/product/add/", "ops")
        self.assertEqual(status, 200)
        self.assertIn('data-search="/admin/inventory/product/choices?field=supplier_id"', html)
        self.assertNotIn('<select name="supplier_id"', html)
        status, _, raw = self.server.request(
            "GET", "/admin/inventory/product/choices?field=supplier_id&q=supplier+04", token=None,
            headers={"Cookie": self.cookies["ops"]})
        self.assertEqual(status, 200, raw)
        got = json.loads(raw)
        self.assertEqual([c["label"] for c in got], [f"Supplier 04{i}" for i in range(10)])
        self.assertTrue(all(isinstance(c["value"], int) for c in got))
        # only a foreign key of the form; only for who may add or change products
        status, _, raw = self.server.request("GET", "/admin/inventory/product/choices?field=name&q=x",
                                             token=None, headers={"Cookie": self.cookies["ops"]})
        self.assertEqual(status, 404, raw)
        self.assertEqual(self.page("/admin/inventory/product/choices?field=supplier_id", "clerk")[0],
                         403)

    def test_inlines(self):
        """A product's stock movements edited on the product's page: changed, deleted, added, a
        blank row ignored, an error beside its field with nothing written, a row of another
        product refused, the history kept."""
        self.db.sql("INSERT INTO product (name, price, supplier_id, updated_at) SELECT 'Inline Kit', "
                    "20, id, '2026-01-02T03:04:05.000000Z' FROM supplier WHERE name = 'Supplier 009'",
                    "INSERT INTO product (name, price, supplier_id, updated_at) SELECT 'Other Kit', "
                    "20, id, '2026-01-02T03:04:05.000000Z' FROM supplier WHERE name = 'Supplier 009'",
                    "INSERT INTO stock_movement (product_id, quantity, note, created_at) SELECT id, 5, "
                    "'first', '2026-01-02T03:04:05.000000Z' FROM product WHERE name LIKE '%Kit'",
                    "INSERT INTO stock_movement (product_id, quantity, note, created_at) SELECT id, -2, "
                    "'second', '2026-01-02T03:04:05.000000Z' FROM product WHERE name = 'Inline Kit'")
        self.addCleanup(self.db.sql, "DELETE FROM stock_movement WHERE product_id IN (SELECT id FROM "
                        "product WHERE name LIKE '%Kit')", "DELETE FROM product WHERE name LIKE '%Kit'")
        status, html = self.page("/admin/inventory/product/?q=kit", "ops")
        pid = int(re.search(r'href="/admin/inventory/product/(\d+)/change/">\d+</a></td><td>Inline Kit',
                            html.replace("\n", "").replace("    ", "")).group(1))
        other = int(re.search(r'href="/admin/inventory/product/(\d+)/change/">\d+</a></td><td>Other Kit',
                              html.replace("\n", "").replace("    ", "")).group(1))
        url = f"/admin/inventory/product/{pid}/change/"
        status, html = self.page(url, "ops")
        self.assertEqual(status, 200)
        self.assertIn('name="stock_movement-TOTAL_FORMS" value="5"', html)  # 2 rows, 3 blank
        ids = [int(i) for i in re.findall(r'name="stock_movement-\d-id" value="(\d+)"', html)]
        self.assertEqual(len(ids), 2)
        self.assertIn('name="stock_movement-0-quantity"', html)
        self.assertIn('name="stock_movement-4-note"', html)
        self.assertNotIn('name="stock_movement-0-product_id"', html)  # the key to this product
        # the page in its fieldsets; updated_at shown, never an input (.readonly)
        self.assertIn("<legend>Product</legend>", html)
        self.assertIn("<legend>Source</legend>", html)
        self.assertNotIn('name="updated_at"', html)
        self.assertIn('<span class="label">Updated at</span> <span class="value">2026-01-02 03:04:05 UTC'
                      '</span>', html)
        status, html = self.page(url, "clerk")  # view only: the sections as text
        self.assertIn('<h2 class="section">Source</h2>', html)
        self.assertIn("<dt>Updated at</dt><dd>2026-01-02 03:04:05 UTC</dd>", html)
        sid = self.db.query(f"SELECT id FROM supplier WHERE name = 'Supplier 009'")[0][0]
        base = {"name": "Inline Kit", "price": "21", "supplier_id": str(sid),
                "updated_at": "2030-01-01T00:00",  # read-only: ignored
                "stock_movement-TOTAL_FORMS": "5",
                "stock_movement-0-id": str(ids[0]), "stock_movement-0-quantity": "6",
                "stock_movement-0-note": "first",
                "stock_movement-1-id": str(ids[1]), "stock_movement-1-quantity": "-2",
                "stock_movement-1-note": "second", "stock_movement-1-DELETE": "1",
                "stock_movement-2-quantity": "7", "stock_movement-2-note": "restock",
                "stock_movement-3-quantity": "", "stock_movement-3-note": "",
                "stock_movement-4-quantity": "", "stock_movement-4-note": ""}
        moves = lambda: self.db.query(f"SELECT quantity, note FROM stock_movement WHERE product_id = {pid} "
                                      "ORDER BY id")
        price = lambda: self.db.query(f"SELECT price FROM product WHERE id = {pid}")[0][0]
        # an error in a new row: beside its field, the page as typed, nothing written
        status, html = self.post(url, "ops", {**base, "stock_movement-2-quantity": "lots"})
        self.assertEqual(status, 422, html)
        self.assertIn("Please correct the error", html)
        self.assertRegex(html, r'<p class="field error"><label for="id_stock_movement-2-quantity">')
        self.assertIn('name="stock_movement-1-DELETE" value="1" checked', html)
        self.assertIn('<span class="value">2026-01-02 03:04:05 UTC</span>', html)  # the row's
        self.assertEqual((moves(), price()), ([(5, "first"), (-2, "second")], 20))
        # a row of another product: refused, nothing written
        status, html = self.post(url, "ops", {**base, "stock_movement-0-id": str(
            self.db.query(f"SELECT id FROM stock_movement WHERE product_id = {other}")[0][0])})
        self.assertEqual(status, 422, html)
        self.assertIn("deleted or moved meanwhile", html)
        self.assertEqual((moves(), price()), ([(5, "first"), (-2, "second")], 20))
        # saved: one changed, one deleted, one added, the blank ones ignored
        status, to = self.post(url, "ops", base)
        self.assertEqual((status, to), (303, "/admin/inventory/product/"))
        self.assertEqual((moves(), price()), ([(6, "first"), (7, "restock")], 21))
        entries = self.db.query("SELECT model, action, changes FROM cadre_admin_log WHERE model = "
                                "'inventory.stock_movement' ORDER BY id")
        self.assertEqual([e[1] for e in entries[-3:]], [2, 3, 1])  # changed, deleted, added
        self.assertIn('"field":"quantity"', entries[-3][2])
        # who may not change stock movements sees them, without inputs (clerk: no permission
        # on them at all: not shown)
        status, html = self.page(url, "clerk")
        self.assertNotIn("stock_movement", html)

    def test_message_after_save(self):
        """The page after a redirect says what was done (a cookie for the admin's path, dropped
        once shown, only ever shown as text)."""
        self.addCleanup(self.db.sql, "DELETE FROM supplier WHERE name = 'Message Ltd'")
        cookie, token = self.sessions["ops"]
        def request(method, path, extra_cookie="", body=None):
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=HTTP_TIMEOUT)
            headers = {"Accept": "text/html", "Cookie": cookie + extra_cookie,
                       "Origin": f"http://127.0.0.1:{self.server.port}", "X-CSRFToken": token}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.getheader("Location"), resp.msg.get_all("Set-Cookie") or [], \
                    resp.read().decode()
            finally:
                conn.close()
        status, to, cookies, _ = request("POST", "/admin/inventory/supplier/add/",
                                         body="name=Message+Ltd&_save=1")
        self.assertEqual((status, to), (303, "/admin/inventory/supplier/"))
        flash = [c for c in cookies if c.startswith("cadre_admin_message=")]
        self.assertEqual(len(flash), 1, cookies)
        self.assertIn("Path=/admin", flash[0])
        self.assertIn("HttpOnly", flash[0])
        value = flash[0].split(";", 1)[0]
        status, _, cookies, html = request("GET", to, "; " + value)
        self.assertEqual(status, 200)
        self.assertIn('<li role="status">The supplier “Message Ltd” was added successfully.</li>', html)
        self.assertTrue(any(c.startswith("cadre_admin_message=;") and "Max-Age=0" in c for c in cookies),
                        cookies)  # shown once
        # not one of the admin's: dropped; one planted is only ever text
        status, _, _, html = request("GET", to, "; cadre_admin_message=!!not-base64")
        self.assertNotIn('role="status"', html)
        import base64
        planted = base64.urlsafe_b64encode(b"<b>hi</b>").decode().rstrip("=")
        status, _, _, html = request("GET", to, "; cadre_admin_message=" + planted)
        self.assertIn('<li role="status">&lt;b&gt;hi&lt;/b&gt;</li>', html)

    def test_csv_export(self):
        url = "/admin/inventory/product/export/"
        status, hdrs, rows = self.csv(url, "clerk")
        self.assertEqual((status, hdrs["content-type"], hdrs.get("transfer-encoding")),
                         (200, "text/csv; charset=utf-8", "chunked"))
        self.assertRegex(hdrs["content-disposition"], r'^attachment; filename="product-\d{4}-\d\d-\d\d\.csv"$')
        self.assertEqual(rows[0], ["id", "name", "price", "supplier_id", "Supplier", "updated_at",
                                   "In stock"])
        self.assertEqual([r[1:3] + r[4:] for r in rows[1:]],
                         [["Drill", "9.5", "Supplier 007", "2026-01-02T03:04:05Z", "0"],
                          ["Hammer", "5.0", "Supplier 008", "2026-01-02T03:04:05Z", "2"]])
        # the list's filters and search narrow it; the list links to it with them
        sid = rows[1][3]
        self.assertEqual([r[1] for r in self.csv(f"{url}?supplier_id={sid}", "clerk")[2][1:]], ["Drill"])
        self.assertEqual([r[1] for r in self.csv(f"{url}?q=hamm", "clerk")[2][1:]], ["Hammer"])
        status, html = self.page(f"/admin/inventory/product/?q=hamm&supplier_id={sid}", "clerk")
        self.assertIn(f'href="{url}?supplier_id={sid}&amp;q=hamm" download>Export CSV', html)
        # who may: staff with the view permission
        self.assertEqual(self.csv("/admin/inventory/stock_movement/export/", "clerk")[0], 403)
        self.assertIn(self.csv(url, "plain")[0], (302, 303, 403))
        # many rows, in batches, each once, by key; text a spreadsheet would run stays text
        values = ", ".join(f"('Bulk {i:04d}', 'b{i}@example.com')" for i in range(1, 1201))
        self.db.sql(f"INSERT INTO supplier (name, email) VALUES {values}",
                    "INSERT INTO supplier (name, email) VALUES ('=1+2, \"quoted\"', '@x')")
        self.addCleanup(self.db.sql, "DELETE FROM supplier WHERE name LIKE 'Bulk %' OR name LIKE '=%'")
        status, _, rows = self.csv("/admin/inventory/supplier/export/", "clerk")
        ids = [int(r[0]) for r in rows[1:]]
        self.assertEqual((status, len(ids), ids), (200, 106 + 1201, sorted(set(ids))))
        self.assertEqual(rows[-1][1:], ["'=1+2, \"quoted\"", "'@x"])
        status, _, rows = self.csv("/admin/inventory/supplier/export/?q=bulk+119", "clerk")
        self.assertEqual([r[1] for r in rows[1:]], ["Bulk 0119", "Bulk 1119"] + [f"Bulk 119{i}" for i in range(10)])


class JobsTest(ServedTest):
    """The low-stock alert (a background task on serve's own workers, enqueued by any change of a
    product's movements — its page, the API, the admin — that leaves fewer than 5), the jobs in
    the admin (read-only, Retry now and Cancel) and `inventory tasks`; stock changes pushed over
    the WebSocket /stock/live."""

    @classmethod
    def prepare(cls):
        super().prepare()
        cls.db.user("ops", "ops pass 12", "super")
        cls.db.user("clerk", "clerk pass 12", "--staff")
        cls.db.user("viewer", "viewer pass 12", "--staff")
        rc, out, err = cls.db.run("group", "jobviewers", "--add", "viewer", "--grant",
                                  "tasks.view_cadre_job")
        assert rc == 0, out + err
        cls.db.sql("INSERT INTO supplier (name, email) VALUES ('Saws Ltd', 'orders@saws.example')",
                   "INSERT INTO product (name, price, supplier_id, updated_at) SELECT 'Saw', 20, "
                   "id, '2026-01-02T03:04:05.000000Z' FROM supplier WHERE name = 'Saws Ltd'",
                   "INSERT INTO stock_movement (product_id, quantity, note, created_at) SELECT id, "
                   "10, 'delivery', '2026-01-02T03:04:05.000000Z' FROM product WHERE name = 'Saw'")
        cls.pid = cls.db.query("SELECT id FROM product WHERE name = 'Saw'")[0][0]

    @classmethod
    def served(cls):
        cls.sessions = {n: cls.server.login(n, f"{n} pass 12") for n in ("ops", "clerk", "viewer")}

    def browse(self, method, path, who, form=None):
        cookie, csrf = self.sessions[who]
        return self.server.browse(method, path, cookie, csrf if form is not None else None, form)

    def jobs(self, where="1 = 1"):
        return self.db.query("SELECT id, task, state, attempt, result, error FROM cadre_job WHERE "
                             f"{where} ORDER BY id")

    def wait_for(self, what, check, seconds=15):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got = check()
            if got:
                return got
            time.sleep(0.05)
        self.fail(f"{what}: not within {seconds} s")

    def job(self, state, args, **cols):
        """A job of low_stock written as another instance would have left it → its id."""
        now = int(time.time() * 1000)
        row = dict(queue="default", task="low_stock", args=json.dumps(args), state=state,
                   attempt=0, max_attempts=5, run_at=now, created_at=now)
        row.update(cols)
        values = ", ".join("'" + v.replace("'", "''") + "'" if isinstance(v, str) else str(v)
                           for v in row.values())
        self.db.sql(f"INSERT INTO cadre_job ({', '.join(row)}) VALUES ({values})")
        return self.db.query("SELECT MAX(id) FROM cadre_job")[0][0]

    def test_a_movement_out_below_five_sends_the_alert(self):
        page = f"/products/{self.pid}"
        status, headers, _ = self.browse("POST", page, "ops", {"quantity": "-2", "note": "sold"})
        self.assertEqual(status, 303)
        self.assertEqual(self.jobs(), [], "8 left: no alert")
        status, headers, _ = self.browse("POST", page, "ops", {"quantity": "-5", "note": "sold"})
        self.assertEqual((status, headers["Location"]), (303, page))
        done = self.wait_for("the alert", lambda: [j for j in self.jobs() if j[2] == "completed"])
        self.assertEqual(done[0][1:5], ("low_stock", "completed", 1, "alerted: 3 left"))
        self.wait_for("the log line", lambda: any(
            "WARN low stock: Saw has 3 left; reorder from Saws Ltd <orders@saws.example>" in l
            for l in self.server.lines))
        # `inventory tasks` lists it
        rc, out, err = self.db.run("tasks", "completed")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, rf"(?m)^{done[0][0]}\s+completed\s+low_stock\s+default\s+1/5\s.*alerted: 3 left$")
        # a delivery back above five: the next alert finds the stock restocked
        self.db.sql("INSERT INTO stock_movement (product_id, quantity, note, created_at) VALUES "
                    f"({self.pid}, 20, 'delivery', '2026-01-03T00:00:00.000000Z')")
        status, _, _ = self.browse("POST", page, "ops", {"quantity": "-1", "note": "sold"})
        self.assertEqual(status, 303)
        self.assertEqual(len(self.jobs()), 1, "22 left: no alert")
        self.db.sql(f"DELETE FROM stock_movement WHERE product_id = {self.pid} AND quantity = 20")

    def test_admin_lists_jobs_read_only(self):
        failed = self.job("failed", {"product_id": self.pid}, attempt=5, finished_at=1767225600000,
                          error="mail server down\nretrying")
        url = "/admin/tasks/cadre_job/"
        status, _, html = self.browse("GET", url + f"?q=failed", "ops")
        self.assertEqual(status, 200)
        self.assertNotIn(url + "add/", html)  # no "Add job"
        row = next(r for r in AdminTest.rows(html) if f"/{failed}/change/" in r[0])
        self.assertEqual(row[1:], ["low_stock", "default", "failed", "5 of 5",
                                   row[5], "2026-01-01 00:00:00 UTC", "mail server down…"])
        self.assertRegex(row[5], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
        self.assertIn('<option value="retry">Retry now</option>', html)
        self.assertIn('<option value="cancel">Cancel</option>', html)
        # the add page is refused; the change page shows the job without a form to save
        self.assertEqual(self.browse("GET", url + "add/", "ops")[0], 403)
        status, _, html = self.browse("GET", url + f"{failed}/change/", "ops")
        self.assertEqual(status, 200)
        self.assertIn("View job", html)
        self.assertIn("mail server down", html)
        self.assertNotIn('name="_save"', html)
        self.assertEqual(self.browse("POST", url + f"{failed}/change/", "ops",
                                     {"state": "completed"})[0], 403)
        self.assertEqual(self.jobs(f"id = {failed}")[0][2], "failed")
        # staff without the permission: not in the index, refused
        self.assertNotIn(url, self.browse("GET", "/admin/", "clerk")[2])
        self.assertEqual(self.browse("GET", url, "clerk")[0], 403)
        # a viewer sees the list but is offered no action but none, and is refused one
        status, _, html = self.browse("GET", url, "viewer")
        self.assertEqual(status, 200)
        self.assertNotIn('value="retry"', html)
        self.assertEqual(self.browse("POST", url, "viewer", {"action": "retry",
                                                            "_selected_action": str(failed)})[0], 403)
        self.assertEqual(self.jobs(f"id = {failed}")[0][2], "failed")

    def message(self, headers):
        """The admin's message that a redirect left (its cookie, base64url)."""
        import base64
        v = re.search(r"cadre_admin_message=([A-Za-z0-9_-]+)", headers.get("Set-Cookie", ""))
        return base64.urlsafe_b64decode(v.group(1) + "=" * (-len(v.group(1)) % 4)).decode()

    def test_retry_and_cancel_actions(self):
        url = "/admin/tasks/cadre_job/"
        failed = self.job("failed", {"product_id": self.pid}, attempt=5, finished_at=1767225600000,
                          error="mail server down")
        later = self.job("available", {"product_id": self.pid})
        self.db.sql(f"UPDATE cadre_job SET run_at = run_at + 3600000 WHERE id = {later}")
        # retry: the failed job runs again now, with one more attempt; the one not ended is said
        status, headers, _ = self.browse("POST", url, "ops", [
            ("action", "retry"), ("_selected_action", str(failed)), ("_selected_action", str(later))])
        self.assertEqual((status, headers["Location"]), (303, url))
        self.assertEqual(self.message(headers), "Retried 1 job; 1 was not failed or cancelled.")
        j = self.wait_for("the retried job", lambda: [j for j in self.jobs(f"id = {failed}")
                                                      if j[2] == "completed"])
        self.assertEqual(j[0][3], 6)
        # cancel: the pending job never runs; the completed one cannot be
        status, headers, _ = self.browse("POST", url, "ops", [
            ("action", "cancel"), ("_selected_action", str(later)), ("_selected_action", str(failed))])
        self.assertEqual(status, 303)
        self.assertEqual(self.message(headers), "Cancelled 1 job; 1 was not available or running.")
        self.assertEqual(self.jobs(f"id = {later}")[0][2], "cancelled")
        status, headers, _ = self.browse("POST", url, "ops", [("action", "cancel"),
                                                              ("_selected_action", str(later))])
        self.assertEqual(self.message(headers), "Cancelled 0 jobs; 1 was not available or running.")
        # deleting a finished job: the delete permission, the admin's own confirmation
        status, _, html = self.browse("POST", url, "ops", [("action", "delete_selected"),
                                                           ("_selected_action", str(later))])
        self.assertEqual(status, 200)
        self.assertIn("Are you sure?", html)

    def product(self, name, stock):
        """A product of Saws Ltd with stock in one movement → its id."""
        self.db.sql("INSERT INTO product (name, price, supplier_id, updated_at) SELECT "
                    f"'{name}', 5, id, '2026-01-02T03:04:05.000000Z' FROM supplier "
                    "WHERE name = 'Saws Ltd'",
                    "INSERT INTO stock_movement (product_id, quantity, note, created_at) SELECT "
                    f"id, {stock}, 'delivery', '2026-01-02T03:04:05.000000Z' FROM product "
                    f"WHERE name = '{name}'")
        return self.db.query(f"SELECT id FROM product WHERE name = '{name}'")[0][0]

    def test_a_movement_through_the_api_or_the_admin_sends_it_too(self):
        token = self.db.token("ops")
        for via, name in (("api", "Hammer"), ("admin", "Chisel")):
            pid = self.product(name, 10)
            if via == "api":
                status, body, _ = self.server.request("POST", "/api/stock-movements",
                                                      {"product_id": pid, "quantity": -7}, token)
                self.assertEqual(status, 201, body)
            else:
                status, _, html = self.browse("POST", "/admin/inventory/stock_movement/add/", "ops",
                                              {"product_id": str(pid), "quantity": "-8",
                                               "note": "sold", "_save": "Save"})
                self.assertEqual(status, 303, html[:500])
            done = self.wait_for(f"the alert ({via})", lambda: [
                j for j in self.jobs(f"state = 'completed' AND args LIKE '%{pid}%'")
                if json.loads(self.db.query(f"SELECT args FROM cadre_job WHERE id = {j[0]}")[0][0])
                == {"product_id": pid}])
            self.assertEqual(done[0][4], f"alerted: {3 if via == 'api' else 2} left")

    def handshake(self, who, path="/stock/live"):
        """A WebSocket handshake as who's browser (None: no session) → (socket, status)."""
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=HTTP_TIMEOUT)
        cookie = f"Cookie: {self.sessions[who][0]}\r\n" if who else ""
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.server.port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   f"Origin: http://127.0.0.1:{self.server.port}\r\n{cookie}\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = s.recv(1)  # one byte at a time: nothing of the first frame is taken
            if not chunk:
                break
            head += chunk
        return s, int(head.split(b" ", 2)[1])

    @staticmethod
    def text_frame(s):
        """The next frame the server sends (unmasked): its payload as text."""
        def exact(n):
            data = b""
            while len(data) < n:
                chunk = s.recv(n - len(data))
                assert chunk, "closed"
                data += chunk
            return data
        b0, b1 = exact(2)
        assert b0 == 0x81, hex(b0)  # one text frame
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(exact(2), "big")
        return exact(n).decode()

    def test_stock_changes_are_pushed_to_open_pages(self):
        for who, want in ((None, 401), ("viewer", 403)):  # the guard, before any upgrade
            s, status = self.handshake(who)
            s.close()
            self.assertEqual(status, want, who)
        pid = self.product("Plane", 40)
        s, status = self.handshake("ops")
        self.addCleanup(s.close)
        self.assertEqual(status, 101)
        # a movement on the product's page, then one through the API: each one's stock, pushed
        self.assertEqual(self.browse("POST", f"/products/{pid}", "ops",
                                     {"quantity": "-4", "note": "sold"})[0], 303)
        self.assertEqual(json.loads(self.text_frame(s)), {"product_id": pid, "quantity": 36})
        status, body, _ = self.server.request("POST", "/api/stock-movements",
                                              {"product_id": pid, "quantity": 5},
                                              self.db.token("ops"))
        self.assertEqual(status, 201, body)
        self.assertEqual(json.loads(self.text_frame(s)), {"product_id": pid, "quantity": 41})
        # deleted through the API: the stock without it
        status, _, _ = self.server.request("DELETE", f"/api/stock-movements/{body['id']}", None,
                                           self.db.token("ops"))
        self.assertEqual(status, 204)
        self.assertEqual(json.loads(self.text_frame(s)), {"product_id": pid, "quantity": 36})


class UnmigratedDatabaseTest(unittest.TestCase):
    """Serving a database nobody migrated: warned at startup, then a JSON error per request,
    promptly, and the server stays up."""

    def setUp(self):
        self.db = Database()
        self.addCleanup(self.db.drop)
        self.server = Server(self.db)
        self.addCleanup(self.server.stop)

    def test_requests_answer_a_json_500_and_the_server_survives(self):
        startup = "".join(self.server.lines)
        self.assertRegex(startup, rf"lacks {len(migration_names()) + len(auth_migrations()) + len(module_migrations('admin')) + len(module_migrations('tasks'))} "
                                  r"migrations?: .* will fail until")
        # a token cannot be looked up: the server's error, not the client's (never a 401 that
        # would have the client throw its token away)
        token = "cadre_0123456789ab_" + "A" * 43
        for method, path, body in (("GET", "/api/suppliers", None),
                                   ("POST", "/api/suppliers", {"name": "Acme"}),
                                   ("GET", "/api/products/1/stock", None)):
            t = time.monotonic()
            status, parsed, raw = self.server.request(method, path, body, token=token)
            self.assertEqual(status, 500, (method, path, raw))
            self.assertEqual(parsed, {"detail": "Internal Server Error"})
            self.assertLess(time.monotonic() - t, 5, (method, path))
        self.assertTrue(self.server.alive())
        status, _, raw = self.server.request("GET", "/openapi.json")
        self.assertEqual(status, 200, raw)

    def test_log_records_carry_the_request_id(self):
        # a request that fails (no tables): its error records name its id, as its answer does
        sent = "failing-request-0123456789"
        status, _, _ = self.server.request("GET", "/api/suppliers",
                                           token="cadre_0123456789ab_" + "A" * 43,
                                           headers={"X-Request-ID": sent})
        self.assertEqual(status, 500)
        self.assertEqual(self.server.last_headers["X-Request-ID"], sent)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            mine = [l for l in self.server.lines if f"request_id={sent}" in l]
            if mine:
                break
            time.sleep(0.02)  # the server's stderr is read by a thread
        self.assertTrue(mine and all(" ERROR " in l for l in mine), self.server.lines[-5:])
        self.assertFalse([l for l in self.server.lines
                          if "listening on" in l and "request_id=" in l])  # not outside requests

    def test_not_ready_until_migrated(self):
        # alive, not ready: the load balancer sends it nothing until migrate has run
        self.assertEqual(self.server.request("GET", "/livez", token=None)[0], 200)
        status, _, raw = self.server.request("GET", "/readyz", token=None)
        self.assertEqual((status, raw), (503, b"not ready\n"))
        status, checks = health(self.server, "/readyz?verbose")
        self.assertEqual(status, 503)
        self.assertEqual(checks["status"], "fail")
        self.assertEqual(checks["checks"]["database"], [{"status": "pass"}])
        lacking = len(migration_names()) + len(auth_migrations()) + sum(
            len(module_migrations(m)) for m in ("admin", "tasks"))
        self.assertEqual(checks["checks"]["migrations"],
                         [{"status": "fail",
                           "output": f"{lacking} migrations not applied yet: run migrate"}])
        # the task runners wait for migrate too, said once, instead of failing every poll
        def logged(text):
            deadline = time.monotonic() + 10
            while not any(text in l for l in self.server.lines):
                self.assertLess(time.monotonic(), deadline, self.server.lines)
                time.sleep(0.05)
        logged("tasks: no job runs until the app's migrate command has run")
        rc, out, err = self.db.run("migrate")
        self.assertEqual(rc, 0, out + err)
        logged("tasks: migrated: running jobs")
        self.assertFalse([l for l in self.server.lines if "cadre_job" in l])
        self.assertEqual(health(self.server, "/readyz?verbose"),
                         (200, {"status": "pass", "checks": {
                             "server": [{"status": "pass"}], "database": [{"status": "pass"}],
                             "migrations": [{"status": "pass"}]}}))


def health(server, path):
    """GET path (a health route) → (status, its application/health+json body as JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.getheader("Content-Type") == "application/health+json", resp.getheaders()
        assert resp.getheader("Cache-Control") == "no-store"
        return resp.status, json.loads(body)
    finally:
        conn.close()


class HealthTest(ServedTest):
    """/livez and /readyz: open to anyone, out of OpenAPI, and at SIGTERM /readyz fails first
    while the server keeps serving for its drain delay."""

    def test_live_and_ready(self):
        for path in ("/livez", "/readyz"):
            status, _, raw = self.server.request("GET", path, token=None)
            self.assertEqual((status, raw), (200, b"ok\n"), path)
            self.assertEqual(self.server.last_headers["Cache-Control"], "no-store")
            self.assertTrue(self.server.last_headers["Content-Type"].startswith("text/plain"))
        self.assertEqual(health(self.server, "/livez?verbose"),
                         (200, {"status": "pass", "checks": {"process": [{"status": "pass"}]}}))
        self.assertEqual(health(self.server, "/readyz?verbose")[1]["status"], "pass")
        status, doc, _ = self.server.request("GET", "/openapi.json", token=None)
        self.assertEqual(status, 200)
        self.assertFalse({"/livez", "/readyz"} & set(doc["paths"]))
        self.assertEqual(self.server.request("POST", "/readyz", {}, token=None)[0], 405)

    def test_request_ids(self):
        def rid(sent=None):
            headers = {"X-Request-ID": sent} if sent is not None else None
            status, _, _ = self.server.request("GET", "/livez", token=None, headers=headers)
            self.assertEqual(status, 200)
            return self.server.last_headers["X-Request-ID"]
        # a valid one is kept, so that a proxy's id follows the request
        for sent in ("abcdefghij0123456789", "Root=1-5759e988-bd862e3fe1be46a994272793",
                     "a+b/c=d-" * 25):
            self.assertEqual(rid(sent), sent)
        # any other is replaced: 32 hex digits, a new one each time
        made = set()
        for sent in (None, "", "too-short-19-chars!", "x" * 201, "has space 0123456789x",
                     "quote\"0123456789abcd", "under_score_012345678"):
            got = rid(sent)
            self.assertRegex(got, r"^[0-9a-f]{32}$", sent)
            made.add(got)
        self.assertEqual(len(made), 7)

    def metrics(self, srv, headers=None):
        """GET /metrics → (status, {series line without its value: value})."""
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=HTTP_TIMEOUT)
        try:
            conn.request("GET", "/metrics", headers=headers or {})
            resp = conn.getresponse()
            text = resp.read().decode()
        finally:
            conn.close()
        if resp.status != 200:
            return resp.status, {}
        self.assertEqual(resp.getheader("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                values[key] = float(value)
        return 200, values

    def test_metrics(self):
        srv = Server(self.db, env={"CADRE_METRICS_TOKEN": "scrape-token-0123456789"})
        self.addCleanup(srv.stop)
        token = self.db.admin_token()
        for path in ("/api/suppliers/1", "/api/suppliers/2", "/api/suppliers/3"):
            srv.request("GET", path, token=token)
        srv.request("GET", "/no/such/thing", token=token)
        srv.request("FROB", "/api/suppliers", token=token)
        status, m = self.metrics(srv)
        self.assertEqual(status, 200)
        # by the route's pattern, never the raw path; a client's own methods are _OTHER
        self.assertEqual(m['http_requests_total{method="GET",route="/api/suppliers/{id}",status="404"}'], 3)
        self.assertEqual(m['http_requests_total{method="GET",route="(unmatched)",status="404"}'], 1)
        self.assertEqual(m['http_requests_total{method="_OTHER",route="(unmatched)",status="501"}'], 1)
        self.assertFalse([k for k in m if "/api/suppliers/1" in k])
        count = m['http_request_duration_seconds_count{method="GET",route="/api/suppliers/{id}"}']
        self.assertEqual(count, 3)
        self.assertEqual(m['http_request_duration_seconds_bucket{method="GET",route="/api/suppliers/{id}",le="+Inf"}'], 3)
        self.assertGreater(m['http_request_duration_seconds_sum{method="GET",route="/api/suppliers/{id}"}'], 0)
        self.assertEqual(m["http_requests_in_flight"], 1)  # this one
        self.assertGreaterEqual(m["http_connections_open"], 1)
        self.assertGreater(m["process_resident_memory_bytes"], 1 << 20)
        self.assertGreater(m["process_open_fds"], 2)
        # the database's connections (cadre_models adds them): open, none busy after the requests
        self.assertGreaterEqual(m["db_pool_connections_open"], 1)
        # (the task runners query now and then: one may be theirs at the moment of a scrape)
        for _ in range(100):
            if m["db_pool_connections_in_use"] == 0:
                break
            time.sleep(0.02)
            m = self.metrics(srv)[1]
        self.assertEqual(m["db_pool_connections_in_use"], 0)
        self.assertEqual(m["db_pool_requests_waiting"], 0)
        self.assertIn("db_pool_waits_total", m)
        # through a proxy the app does not trust: not the machine itself, so 403, unless the
        # bearer token comes with it
        status, _ = self.metrics(srv, {"X-Forwarded-For": "203.0.113.7"})
        self.assertEqual(status, 403)
        status, _ = self.metrics(srv, {"X-Forwarded-For": "203.0.113.7",
                                       "Authorization": "Bearer wrong-token-0123456789"})
        self.assertEqual(status, 403)
        status, _ = self.metrics(srv, {"X-Forwarded-For": "203.0.113.7",
                                       "Authorization": "Bearer scrape-token-0123456789"})
        self.assertEqual(status, 200)
        # its own networks: a trusted proxy's client in CADRE_METRICS_ALLOW reads them
        srv2 = Server(self.db, env={"CADRE_TRUSTED_PROXIES": "127.0.0.1",
                                    "CADRE_METRICS_ALLOW": "10.0.0.0/8, 2001:db8::/32"})
        self.addCleanup(srv2.stop)
        self.assertEqual(self.metrics(srv2, {"X-Forwarded-For": "10.1.2.3"})[0], 200)
        self.assertEqual(self.metrics(srv2, {"X-Forwarded-For": "2001:db8::5"})[0], 200)
        self.assertEqual(self.metrics(srv2, {"X-Forwarded-For": "11.1.2.3"})[0], 403)
        # --no-metrics: nothing counted, no route
        srv3 = Server(self.db, args=("--no-metrics",))
        self.addCleanup(srv3.stop)
        self.assertEqual(self.metrics(srv3)[0], 404)

    def test_secrets_from_files(self):
        # Docker's and Kubernetes' secrets: NAME_FILE names a file holding the value
        url_file = os.path.join(self.db.dir, "database-url")
        token_file = os.path.join(self.db.dir, "metrics-token")
        with open(url_file, "w") as f:
            f.write(self.db.url + "\n")
        with open(token_file, "w") as f:
            f.write("file-token-0123456789\n")
        srv = Server(self.db, env={"CADRE_DATABASE_URL": "", "CADRE_DATABASE_URL_FILE": url_file,
                                   "CADRE_METRICS_TOKEN_FILE": token_file})
        self.addCleanup(srv.stop)
        self.assertEqual(health(srv, "/readyz?verbose")[1]["status"], "pass")  # the same database
        status, _ = self.metrics(srv, {"X-Forwarded-For": "203.0.113.7",
                                       "Authorization": "Bearer file-token-0123456789"})
        self.assertEqual(status, 200)
        # a file that is not there: said, and nothing done
        rc, out, err = self.db.run("migrate", env={"CADRE_DATABASE_URL": "",
                                                   "CADRE_DATABASE_URL_FILE": url_file + ".gone"})
        self.assertNotEqual(rc, 0)
        self.assertIn(f"CADRE_DATABASE_URL_FILE: cannot read {url_file}.gone: No such file", err)

    def test_access_log_names_the_user(self):
        srv = Server(self.db, args=("--access-log",))
        self.addCleanup(srv.stop)
        token = self.db.admin_token()
        uid = self.db.query("SELECT id FROM cadre_user WHERE username = 'ops'")[0][0]
        srv.request("GET", "/api/suppliers", token=token, headers={"X-Request-ID": "log-user-01234567890"})
        srv.request("GET", "/livez", token=None, headers={"X-Request-ID": "log-anon-01234567890"})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            lines = [l for l in srv.lines if " INFO request " in l]
            if len(lines) >= 2:
                break
            time.sleep(0.02)  # its stderr is read by a thread
        by_id = {re.search(r"request_id=(\S+)", l).group(1): l for l in lines}
        self.assertIn(f" user={uid} ", by_id["log-user-01234567890"])
        self.assertIn(" route=/api/suppliers ", by_id["log-user-01234567890"])
        self.assertIn(" client=127.0.0.1 ", by_id["log-user-01234567890"])
        self.assertIn(" user=- ", by_id["log-anon-01234567890"])

    def drain(self, delay_ms):
        """A server of its own with --drain-delay, SIGTERMed once it answers: the server, once
        /readyz says it is stopping."""
        srv = Server(self.db, args=("--drain-delay", str(delay_ms)))
        self.addCleanup(srv.stop)
        self.assertEqual(srv.request("GET", "/readyz", token=None)[0], 200)
        srv.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, checks = health(srv, "/readyz?verbose")
            if status == 503:
                break
            time.sleep(0.02)  # the signal is on its way: ask again
        self.assertEqual(status, 503)
        self.assertEqual(checks["checks"]["server"],
                         [{"status": "fail", "output": "stopping: finishing its requests"}])
        return srv

    def test_drain_delay_then_stop(self):
        start = time.monotonic()
        srv = self.drain(1500)
        # still serving everything else while the load balancer takes it out
        self.assertEqual(srv.request("GET", "/livez", token=None)[0], 200)
        self.assertEqual(srv.request("GET", "/api/suppliers", token=self.db.admin_token())[0], 200)
        self.assertEqual(srv.proc.wait(15), 0)
        self.assertGreaterEqual(time.monotonic() - start, 1.5)
        srv.pump.join(5)
        log = "".join(srv.lines)
        self.assertIn("serving 1500 ms more", log)
        self.assertIn("stopped", log)

    def test_a_second_signal_cuts_the_delay_short(self):
        srv = self.drain(600000)
        start = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(srv.proc.wait(15), 0)
        self.assertLess(time.monotonic() - start, 15)
        srv.pump.join(5)
        self.assertIn("a second signal: stopping now", "".join(srv.lines))


if __name__ == "__main__":
    if not APP or not MIGRATIONS:
        sys.exit("usage: inventory_test.py INVENTORY_BINARY MIGRATIONS_DIR")
    print("database:", "postgresql" if PG else "sqlite", file=sys.stderr)
    unittest.main(verbosity=2)
