#!/usr/bin/env python3
"""examples/hybrid (the shop: an operational surface and an API surface, two modules) over real
sockets, split in two processes on one database as its split build runs: `shop-api` (the API
alone) takes customers' orders by token; `shop` (both surfaces) shows them to the staff, who ship
them from the page. Orders take their stock in a transaction: racing orders never oversell. On
SQLite, or on PostgreSQL under tests/pg/with-postgres (CADRE_TEST_PG).
    hybrid_test.py SHOP_BINARY SHOP_API_BINARY"""
import os
import re
import sys
import threading
import unittest

SHOP = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None
SHOP_API = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None
_argv, sys.argv = sys.argv, sys.argv[:1]  # inventory_test reads its own arguments at import
import inventory_test as inv  # noqa: E402  (its Database and Server serve any Cadre app)
sys.argv = _argv
inv.APP = SHOP


class HybridTest(inv.ServedTest):
    """shop (self.server) and shop-api (self.api) on the same database."""

    @classmethod
    def prepare(cls):
        super().prepare()
        cls.admin = cls.db.admin_token()  # the superuser "ops": staff
        for name in ("acme", "globex"):
            cls.db.user(name, f"{name} pass 12")
        rc, out, err = cls.db.run("group", "customers", "--add", "acme", "--add", "globex",
                                  "--grant", "shop.view_product", "--grant", "shop.add_purchase")
        assert rc == 0, out + err
        cls.tokens = {n: cls.db.token(n) for n in ("acme", "globex")}

    @classmethod
    def served(cls):
        inv.APP = SHOP_API
        try:
            cls.api = inv.Server(cls.db)
        finally:
            inv.APP = SHOP
        cls.cookie, cls.csrf = cls.server.login("ops", "ops pass 12")

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "api", None):
            cls.api.stop()
        super().tearDownClass()

    def call(self, who, method, path, body=None, server=None):
        """The API as customer who (a name) or the staff's token ("ops")."""
        token = self.admin if who == "ops" else self.tokens[who] if who else None
        status, parsed, _ = (server or self.api).request(method, path, body, token=token)
        return status, parsed

    def product(self, sku, stock):
        status, row = self.call("ops", "POST", "/api/products",
                                {"sku": sku, "name": f"Product {sku}", "price": 9.5,
                                 "stock": stock})
        self.assertEqual(status, 201, row)
        return row["id"]

    def stock(self, pid):
        return self.call("ops", "GET", f"/api/products/{pid}")[1]["stock"]

    def page(self, method, path, form=None):
        """The staff's browser on shop (a form carries its own CSRF token): (status, headers,
        text)."""
        return self.server.browse(method, path, self.cookie, None, form)

    def test_an_order_from_the_api_is_shipped_from_the_page(self):
        pid = self.product("SAW-1", 10)
        status, order = self.call("acme", "POST", "/api/orders", {"product_id": pid, "quantity": 3})
        self.assertEqual(status, 201, order)
        self.assertEqual((order["state"], order["quantity"]), ("placed", 3))
        self.assertEqual(self.stock(pid), 7)
        # the staff see it on shop's page, placed through the other process
        status, _, html = self.page("GET", "/")
        self.assertEqual(status, 200, html)
        row = re.search(r"<tr>\s*<td>%d</td>(.*?)</tr>" % order["id"], html, re.S)
        self.assertIsNotNone(row, html)
        self.assertIn("<td>acme</td>", row.group(1))
        self.assertIn("Product SAW-1", row.group(1))
        # shipped with the page's button (its CSRF token); then gone from the page, and the
        # customer's program sees it shipped
        csrf = re.search(r'action="/orders/%d/ship"><input type="hidden" '
                         r'name="csrfmiddlewaretoken" value="([^"]+)"' % order["id"], html).group(1)
        status, headers, _ = self.page("POST", f"/orders/{order['id']}/ship",
                                       {"csrfmiddlewaretoken": csrf})
        self.assertEqual((status, headers.get("Location")), (303, "/"))
        self.assertNotRegex(self.page("GET", "/")[2], r"<td>%d</td>" % order["id"])
        self.assertEqual(self.call("acme", "GET", f"/api/orders/{order['id']}")[1]["state"],
                         "shipped")
        # without the CSRF token the button does nothing
        status, o2 = self.call("acme", "POST", "/api/orders", {"product_id": pid, "quantity": 1})
        self.assertEqual(status, 201, o2)
        self.assertEqual(self.page("POST", f"/orders/{o2['id']}/ship", {})[0], 403)
        self.assertEqual(self.call("acme", "GET", f"/api/orders/{o2['id']}")[1]["state"], "placed")

    def test_orders_refused_and_customers_apart(self):
        pid = self.product("DRL-1", 2)
        self.assertEqual(self.call("acme", "POST", "/api/orders", {"product_id": pid, "quantity": 5}),
                         (409, {"detail": "Only 2 in stock."}))
        self.assertEqual(self.call("acme", "POST", "/api/orders",
                                   {"product_id": 987654, "quantity": 1}),
                         (404, {"detail": "No such product."}))
        status, body = self.call("acme", "POST", "/api/orders", {"product_id": pid, "quantity": 0})
        self.assertEqual((status, body["detail"][0]["loc"]), (422, ["body", "quantity"]))
        self.assertEqual(self.stock(pid), 2)
        status, mine = self.call("acme", "POST", "/api/orders", {"product_id": pid, "quantity": 1})
        self.assertEqual(status, 201, mine)
        # another customer's order is not there for globex; its list holds its own only
        self.assertEqual(self.call("globex", "GET", f"/api/orders/{mine['id']}"),
                         (404, {"detail": "No such order."}))
        status, body = self.call("globex", "GET", "/api/orders")
        self.assertEqual(status, 200)
        self.assertNotIn(mine["id"], [o["id"] for o in body["results"]])
        self.assertIn(mine["id"], [o["id"] for o in self.call("acme", "GET", "/api/orders")[1]["results"]])
        # customers view the catalogue and change nothing in it
        self.assertEqual(self.call("acme", "GET", f"/api/products/{pid}")[0], 200)
        self.assertEqual(self.call("acme", "PATCH", f"/api/products/{pid}", {"stock": 100})[0], 403)
        # no token: 401 on both binaries; a staff session is no way into the API
        for srv in (self.api, self.server):
            self.assertEqual(self.call(None, "GET", "/api/orders", server=srv)[0], 401)
        status, _, _ = self.server.request("GET", "/api/orders", token=None,
                                           headers={"Cookie": self.cookie})
        self.assertEqual(status, 401)

    def test_racing_orders_never_oversell(self):
        pid = self.product("LAST-5", 5)
        results = []

        def order(who):
            results.append(self.call(who, "POST", "/api/orders", {"product_id": pid, "quantity": 1},
                                     server=self.api if len(results) % 2 else self.server)[0])

        threads = [threading.Thread(target=order, args=("acme" if i % 2 else "globex",))
                   for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(sorted(results), [201] * 5 + [409] * 11)
        self.assertEqual(self.stock(pid), 0)
        rows = self.db.query(f"SELECT COUNT(*), SUM(quantity) FROM purchase WHERE product_id = {pid}")
        self.assertEqual(rows, [(5, 5)])

    def test_each_binary_serves_its_surfaces(self):
        # shop-api: the API and its docs, no pages, no admin, no login page
        for path in ("/", "/admin/", "/accounts/login/"):
            status, _, _ = self.api.request("GET", path, token=None,
                                            headers={"Accept": "application/json"})
            self.assertEqual(status, 404, path)
        status, doc, _ = self.api.request("GET", "/openapi.json", token=None)
        self.assertEqual(status, 200)
        self.assertLessEqual({"/api/orders", "/api/orders/{id}", "/api/products"}, set(doc["paths"]))
        self.assertEqual(set(doc["components"]["securitySchemes"]), {"bearerToken"})
        # shop: both; the same API
        self.assertEqual(self.page("GET", "/admin/")[0], 200)
        status, doc2, _ = self.server.request("GET", "/openapi.json", token=None)
        self.assertEqual(status, 200)
        self.assertEqual({p for p in doc2["paths"] if p.startswith("/api/")},
                         {p for p in doc["paths"] if p.startswith("/api/")})
        # the admin's action ships the selected orders
        pid = self.product("ADM-1", 3)
        status, o = self.call("acme", "POST", "/api/orders", {"product_id": pid, "quantity": 1})
        self.assertEqual(status, 201, o)
        status, _, html = self.page("GET", "/admin/shop/purchase/")
        self.assertEqual(status, 200)
        self.assertIn('value="ship"', html)
        self.assertIn(">Add order</a>", html)  # .singular: the model purchase, named "order"
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        status, _, _ = self.page("POST", "/admin/shop/purchase/",
                                 {"csrfmiddlewaretoken": csrf, "action": "ship",
                                  "_selected_action": str(o["id"])})
        self.assertIn(status, (302, 303))
        self.assertEqual(self.call("acme", "GET", f"/api/orders/{o['id']}")[1]["state"], "shipped")


if __name__ == "__main__":
    unittest.main(verbosity=2)
