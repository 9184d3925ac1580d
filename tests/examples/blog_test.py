#!/usr/bin/env python3
"""The blog example (examples/blog) end to end over real sockets (127.0.0.1 only), on SQLite in a
fresh temp directory, or on the PostgreSQL server CADRE_TEST_PG names (tests/pg/with-postgres):
migrate, the JSON API, the page of published posts with their authors,
a post's page with its comments, the comment form (422 with its errors, 303 after). Every wait
is bounded.    blog_test.py BLOG_BINARY"""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

APP = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None
TIMEOUT = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BlogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        url = os.environ.get("CADRE_TEST_PG") or "sqlite://%s/blog.db" % cls.dir.name
        cls.env = dict(os.environ, CADRE_DATABASE_URL=url)
        subprocess.run([APP, "migrate"], cwd=cls.dir.name, env=cls.env, check=True,
                       capture_output=True, timeout=30)
        cls.port = free_port()
        cls.server = subprocess.Popen([APP, "serve", "--port", str(cls.port), "--log-level", "warn"],
                                      cwd=cls.dir.name, env=cls.env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the blog did not start")

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)
        cls.dir.cleanup()

    def request(self, method, path, json_body=None, form=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            headers, body = {"Connection": "close"}, None
            if json_body is not None:
                body, headers["Content-Type"] = json.dumps(json_body), "application/json"
            if form is not None:
                body = urllib.parse.urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheader("Location"), resp.read().decode()
        finally:
            conn.close()

    def test_blog(self):
        status, _, raw = self.request("POST", "/api/authors", {"name": "Ann <A>"})
        self.assertEqual(status, 201, raw)
        author = json.loads(raw)["id"]
        status, _, raw = self.request("POST", "/api/posts", {"title": "Hello & welcome",
                                                             "body": "First", "published": True,
                                                             "author_id": author})
        self.assertEqual(status, 201, raw)
        post = json.loads(raw)["id"]
        status, _, raw = self.request("POST", "/api/posts", {"title": "Draft", "body": "x",
                                                             "author_id": author})
        draft = json.loads(raw)["id"]
        # the page: published posts only, each with its author (escaped)
        status, _, page = self.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn('<a href="/posts/%d">Hello &amp; welcome</a>' % post, page)
        self.assertIn("by Ann &lt;A&gt;", page)
        self.assertNotIn("Draft", page)
        # a draft, a post that is not there: 404
        self.assertEqual(self.request("GET", "/posts/%d" % draft)[0], 404)
        self.assertEqual(self.request("GET", "/posts/99999")[0], 404)
        # the comment form: its errors beside the fields, the post still shown
        status, _, page = self.request("POST", "/posts/%d" % post, form={"name": "", "body": ""})
        self.assertEqual(status, 422, page)
        self.assertIn("<h1>Hello &amp; welcome</h1>", page)
        self.assertEqual(page.count('<span class="error">Field required</span>'), 2, page)
        # a comment: 303 to the post, then shown there, escaped; the post's id is the path's
        status, location, page = self.request("POST", "/posts/%d" % post,
                                              form={"name": "Bob", "body": "Nice <post>",
                                                    "post_id": str(draft)})
        self.assertEqual((status, location), (303, "/posts/%d" % post), page)
        status, _, page = self.request("GET", "/posts/%d" % post)
        self.assertIn('<p class="comment"><b>Bob</b>: Nice &lt;post&gt;</p>', page)
        # the API sees it, filtered across the foreign key
        status, _, raw = self.request("GET", "/api/comments?post__title__icontains=hello")
        self.assertEqual([c["name"] for c in json.loads(raw)["results"]], ["Bob"], raw)
        status, _, raw = self.request("GET", "/api/comments?post_id=%d" % draft)
        self.assertEqual(json.loads(raw)["count"], 0, raw)


if __name__ == "__main__":
    unittest.main(verbosity=2)
