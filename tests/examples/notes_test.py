#!/usr/bin/env python3
"""docs/examples/notes.c (docs/auth.md's whole example) over real sockets: object permissions
that filter lists (each user sees and changes only their own notes), by API token and by session
with CSRF, and its CORS preflight. On SQLite, or on PostgreSQL under tests/pg/with-postgres
(CADRE_TEST_PG). The database, users and tokens come from the app's own commands, as docs/auth.md
makes them.    notes_test.py NOTES_BINARY"""
import json
import os
import subprocess
import sys
import unittest

NOTES = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None
_argv, sys.argv = sys.argv, sys.argv[:1]  # inventory_test reads its own arguments at import
import inventory_test as inv  # noqa: E402  (its Database and Server serve any Cadre app)
sys.argv = _argv
inv.APP = NOTES

ORIGIN = "http://localhost:5173"  # the origin notes.c allows, with credentials


def user_id(db, name):
    """The id of user name, read from the database."""
    q = f"SELECT id FROM cadre_user WHERE username = '{name}'"
    if inv.PG:
        out = subprocess.run([os.path.join(os.environ["CADRE_TEST_PG_BIN"], "psql"), "-X", "-tA",
                              "-d", db.url, "-c", q], check=True, capture_output=True, text=True,
                             timeout=inv.COMMAND_TIMEOUT).stdout
        return int(out.strip())
    import sqlite3
    con = sqlite3.connect(os.path.join(db.dir, "inv.db"))
    try:
        return con.execute(q).fetchone()[0]
    finally:
        con.close()


class NotesTest(inv.ServedTest):
    @classmethod
    def prepare(cls):
        # no migrations directory yet (notes.c reads ./migrations): migrate says so and applies
        # nothing, rather than only auth's
        rc, out, err = cls.db.run("migrate")
        assert rc == 1 and "the migrations of notes are read from migrations, which is not here" \
            in err and "Applying" not in out, (rc, out, err)
        for command in (["makemigrations"], ["migrate"]):
            rc, out, err = cls.db.run(*command)
            assert rc == 0, (command, out + err)
        for name in ("ann", "bob", "eve"):
            cls.db.user(name, f"{name} pass 12")
        rc, out, err = cls.db.run("group", "writers", "--add", "ann", "--add", "bob",
                                  *[x for a in ("view", "add", "change", "delete")
                                    for x in ("--grant", f"notes.{a}_note")])
        assert rc == 0, out + err
        cls.ids = {n: user_id(cls.db, n) for n in ("ann", "bob")}
        cls.tokens = {n: cls.db.token(n) for n in ("ann", "bob", "eve")}

    def req(self, who, method, path, body=None, headers=None):
        token = self.tokens[who] if who else None
        status, parsed, _ = self.server.request(method, path, body, token=token, headers=headers)
        return status, parsed

    def note(self, who, title):
        status, row = self.req(who, "POST", "/api/notes",
                               {"owner_id": self.ids[who], "title": title})
        self.assertEqual(status, 201, row)
        return row

    def titles(self, who):
        status, page = self.req(who, "GET", "/api/notes?limit=100")
        self.assertEqual(status, 200, page)
        items = page["results"]
        self.assertEqual(page["count"], len(items))  # the count is of the rows the user sees
        return {row["title"] for row in items}, items

    def test_each_user_sees_and_changes_only_their_notes(self):
        a = self.note("ann", "ann's first")
        self.note("ann", "ann's second")
        b = self.note("bob", "bob's only")
        ann, items = self.titles("ann")
        self.assertLessEqual({"ann's first", "ann's second"}, ann)
        self.assertNotIn("bob's only", ann)
        self.assertTrue(all(row["owner_id"] == self.ids["ann"] for row in items), items)
        self.assertIn("bob's only", self.titles("bob")[0])
        # another's note does not exist for ann: 404 to read, change or delete
        for method, body in (("GET", None), ("PATCH", {"title": "mine now"}), ("DELETE", None)):
            status, _ = self.req("ann", method, f"/api/notes/{b['id']}", body)
            self.assertEqual(status, 404, method)
        self.assertEqual(self.req("bob", "GET", f"/api/notes/{b['id']}")[1]["title"], "bob's only")
        # nor can she make one in his name, or hand hers to him
        status, _ = self.req("ann", "POST", "/api/notes",
                             {"owner_id": self.ids["bob"], "title": "forged"})
        self.assertEqual(status, 403)
        status, _ = self.req("ann", "PATCH", f"/api/notes/{a['id']}", {"owner_id": self.ids["bob"]})
        self.assertEqual(status, 403)
        self.assertNotIn("forged", self.titles("bob")[0])
        # her own: changed and deleted
        status, row = self.req("ann", "PATCH", f"/api/notes/{a['id']}", {"title": "ann's edited"})
        self.assertEqual((status, row["title"]), (200, "ann's edited"))
        self.assertEqual(self.req("ann", "DELETE", f"/api/notes/{a['id']}")[0], 204)
        self.assertEqual(self.req("ann", "GET", f"/api/notes/{a['id']}")[0], 404)

    def test_without_permission_or_login(self):
        self.assertEqual(self.req("eve", "GET", "/api/notes")[0], 403)  # no notes.view_note
        self.assertEqual(self.req(None, "GET", "/api/notes")[0], 401)
        self.assertEqual(self.server.last_headers.get("WWW-Authenticate"), "Bearer")

    def test_session_with_csrf(self):
        cookie, csrf = self.server.login("bob", "bob pass 12")
        body = {"owner_id": self.ids["bob"], "title": "by session"}
        status, _ = self.req(None, "POST", "/api/notes", body, {"Cookie": cookie})
        self.assertEqual(status, 403)  # no CSRF token
        status, row = self.req(None, "POST", "/api/notes", body,
                               {"Cookie": cookie, "X-CSRFToken": csrf})
        self.assertEqual(status, 201, row)
        status, page = self.req(None, "GET", "/api/notes?limit=100", None, {"Cookie": cookie})
        self.assertEqual(status, 200)
        items = page["results"]
        self.assertIn("by session", {r["title"] for r in items})
        self.assertTrue(all(r["owner_id"] == self.ids["bob"] for r in items), items)

    def test_own_user_fields(self):
        # makemigrations put the project's column on auth's table in the project's migration
        with open(os.path.join(self.db.dir, "migrations", "0001_initial.json")) as f:
            mig = json.load(f)
        self.assertIn({"op": "add_column", "table": "cadre_user",
                       "column": {"name": "display_name", "type": "text", "default_value": ""}},
                      mig["operations"])
        self.assertTrue(any(r.startswith("auth:") for r in mig["requires"]), mig)
        # the user as the project's model, by token and by session; never the password
        status, me = self.req("eve", "GET", "/api/me")
        self.assertEqual((status, me["username"], me["display_name"]), (200, "eve", ""))
        self.assertNotIn("password", me)
        status, me = self.req("eve", "PATCH", "/api/me", {"display_name": "Eve E."})
        self.assertEqual((status, me["display_name"]), (200, "Eve E."))
        cookie, csrf = self.server.login("eve", "eve pass 12")
        status, me = self.req(None, "GET", "/api/me", None, {"Cookie": cookie})
        self.assertEqual((status, me["display_name"], me["id"]), (200, "Eve E.", user_id(self.db, "eve")))
        status, me = self.req(None, "PATCH", "/api/me", {"display_name": "x" * 101},
                              {"Cookie": cookie, "X-CSRFToken": csrf})
        self.assertEqual(status, 422)
        self.assertEqual(self.req(None, "GET", "/api/me")[0], 401)

    def test_cors(self):
        pre = {"Origin": ORIGIN, "Access-Control-Request-Method": "PATCH",
               "Access-Control-Request-Headers": "content-type, x-csrftoken"}
        status, _ = self.req(None, "OPTIONS", "/api/notes/1", None, pre)
        h = self.server.last_headers
        self.assertEqual(status, 204)
        self.assertEqual(h.get("Access-Control-Allow-Origin"), ORIGIN)
        self.assertEqual(h.get("Access-Control-Allow-Credentials"), "true")
        self.assertIn("PATCH", h.get("Access-Control-Allow-Methods", ""))
        self.assertIn("Origin", h.get("Vary", ""))
        # another origin gets no grant: the browser keeps the answer from its script
        status, _ = self.req(None, "OPTIONS", "/api/notes/1", None,
                             {**pre, "Origin": "http://evil.example"})
        self.assertNotEqual(status, 204)
        self.assertNotIn("Access-Control-Allow-Origin", self.server.last_headers)
        # an actual request from the allowed origin is granted to it
        status, _ = self.req("bob", "GET", "/api/notes", None, {"Origin": ORIGIN})
        self.assertEqual(status, 200)
        self.assertEqual(self.server.last_headers.get("Access-Control-Allow-Origin"), ORIGIN)


if __name__ == "__main__":
    print("database:", "postgresql" if inv.PG else "sqlite", file=sys.stderr)
    unittest.main(verbosity=2)
