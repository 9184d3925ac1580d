#!/usr/bin/env python3
"""examples/service (the telemetry service: a typed API with tokens, no HTML) over real sockets:
devices through its CRUD API, batches of readings stored all or none by a token scoped to adding
readings, per-metric summaries, its OpenAPI document, and no page, session or admin anywhere. On
SQLite, or on PostgreSQL under tests/pg/with-postgres (CADRE_TEST_PG).
    service_test.py TELEMETRY_BINARY"""
import os
import sys
import unittest

TELEMETRY = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None
_argv, sys.argv = sys.argv, sys.argv[:1]  # inventory_test reads its own arguments at import
import inventory_test as inv  # noqa: E402  (its Database and Server serve any Cadre app)
sys.argv = _argv
inv.APP = TELEMETRY


def sample(metric, value, at):
    return {"metric": metric, "value": value, "taken_at": at}


class ServiceTest(inv.ServedTest):
    @classmethod
    def prepare(cls):
        super().prepare()
        cls.admin = cls.db.admin_token()
        # a device's user: may add readings (and see devices); its token only adds readings
        cls.db.user("sensor-7", "sensor pass 12")
        cls.db.user("analyst", "analyst pass 12")
        for group, user, perms in (("sensors", "sensor-7", ["add_reading", "view_device"]),
                                   ("analysts", "analyst", ["view_device", "view_reading"])):
            rc, out, err = cls.db.run("group", group, "--add", user,
                                      *[x for p in perms for x in ("--grant", "telemetry." + p)])
            assert rc == 0, out + err
        cls.sensor = cls.db.token("sensor-7", "--scopes", "telemetry.add_reading")
        cls.analyst = cls.db.token("analyst")

    def req(self, token, method, path, body=None):
        status, parsed, _ = self.server.request(method, path, body, token=token)
        return status, parsed

    def device(self, name):
        status, row = self.req(self.admin, "POST", "/api/devices", {"name": name})
        self.assertEqual(status, 201, row)
        return row["id"]

    def count(self, device):
        return self.db.query(f"SELECT COUNT(*) FROM reading WHERE device_id = {device}")[0][0]

    def test_batches_are_stored_whole_or_not_at_all(self):
        dev = self.device("boiler-1")
        path = f"/api/devices/{dev}/readings"
        batch = [sample("temp", 21.5, "2026-12-06T10:00:00+01:00"),
                 sample("temp", 23, "2026-12-06T10:05:00Z"),
                 sample("volt", 3.3, "2026-12-06T10:05:00Z")]
        self.assertEqual(self.req(self.sensor, "POST", path, {"readings": batch}),
                         (201, {"stored": 3}))
        self.assertEqual(self.count(dev), 3)
        # one bad reading: 422 naming it (index and field), and none of the batch stored
        bad = batch[:2] + [sample("temp", "hot", "2026-12-06T10:06:00Z")]
        status, body = self.req(self.sensor, "POST", path, {"readings": bad})
        self.assertEqual(status, 422, body)
        self.assertEqual([e["loc"] for e in body["detail"]], [["body", "readings", 2, "value"]])
        status, body = self.req(self.sensor, "POST", path,
                                {"readings": [sample("", 1, "2026-12-06T10:06:00Z")]})
        self.assertEqual((status, body["detail"][0]["loc"]), (422, ["body", "readings", 0, "metric"]))
        self.assertEqual(self.count(dev), 3)
        # none, or more than 1000: refused whole
        self.assertEqual(self.req(self.sensor, "POST", path, {"readings": []})[0], 422)
        many = [sample("temp", i, "2026-12-06T11:00:00Z") for i in range(1001)]
        status, body = self.req(self.sensor, "POST", path, {"readings": many})
        self.assertEqual((status, body["detail"][0]["type"]), (422, "too_long"), body)
        self.assertEqual(self.count(dev), 3)
        # 1000 at once: one statement
        self.assertEqual(self.req(self.sensor, "POST", path, {"readings": many[:1000]}),
                         (201, {"stored": 1000}))
        self.assertEqual(self.count(dev), 1003)
        # no such device
        self.assertEqual(self.req(self.sensor, "POST", "/api/devices/987654/readings",
                                  {"readings": batch}),
                         (404, {"detail": "No such device."}))
        # a deleted device takes its readings with it
        self.assertEqual(self.req(self.admin, "DELETE", f"/api/devices/{dev}")[0], 204)
        self.assertEqual(self.count(dev), 0)

    def test_summary_per_metric(self):
        dev = self.device("greenhouse")
        batch = [sample("temp", 18, "2026-12-06T08:00:00Z"),
                 sample("temp", 22, "2026-12-06T10:00:00+01:00"),  # 09:00 UTC
                 sample("temp", 26, "2026-12-06T12:00:00Z"),
                 sample("humidity", 0.5, "2026-12-06T12:00:00Z")]
        self.assertEqual(self.req(self.sensor, "POST", f"/api/devices/{dev}/readings",
                                  {"readings": batch})[0], 201)
        status, body = self.req(self.analyst, "GET", f"/api/devices/{dev}/summary")
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"device_id": dev, "metrics": [
            {"metric": "humidity", "count": 1, "min": 0.5, "max": 0.5, "mean": 0.5},
            {"metric": "temp", "count": 3, "min": 18.0, "max": 26.0, "mean": 22.0}]})
        # since: an instant, whatever its offset (08:30+00:00 leaves out 08:00 only)
        status, body = self.req(self.analyst, "GET",
                                f"/api/devices/{dev}/summary?since=2026-12-06T09:30:00%2B01:00")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["metrics"][1], {"metric": "temp", "count": 2, "min": 22.0,
                                              "max": 26.0, "mean": 24.0})
        status, body = self.req(self.analyst, "GET", f"/api/devices/{dev}/summary?since=yesterday")
        self.assertEqual((status, body["detail"][0]["loc"]), (422, ["query", "since"]), body)
        self.assertEqual(self.req(self.analyst, "GET", "/api/devices/987654/summary")[0], 404)
        # a device with no readings: no metrics
        empty = self.device("new-sensor")
        self.assertEqual(self.req(self.analyst, "GET", f"/api/devices/{empty}/summary"),
                         (200, {"device_id": empty, "metrics": []}))

    def test_tokens_and_permissions(self):
        dev = self.device("door-3")
        path = f"/api/devices/{dev}/readings"
        one = {"readings": [sample("open", 1, "2026-12-06T10:00:00Z")]}
        # no token: 401 with the challenge, on every route
        for method, p, body in (("GET", "/api/devices", None), ("POST", path, one),
                                ("GET", f"/api/devices/{dev}/summary", None)):
            self.assertEqual(self.req(None, method, p, body)[0], 401, p)
            self.assertEqual(self.server.last_headers.get("WWW-Authenticate"), "Bearer")
        # the sensor's token adds readings and nothing else, whatever its user may do
        self.assertEqual(self.req(self.sensor, "POST", path, one)[0], 201)
        self.assertEqual(self.req(self.sensor, "GET", "/api/devices")[0], 403)
        self.assertIn('error="insufficient_scope"', self.server.last_headers["WWW-Authenticate"])
        self.assertEqual(self.req(self.sensor, "GET", f"/api/devices/{dev}/summary")[0], 403)
        # the analyst reads; writes nothing
        self.assertEqual(self.req(self.analyst, "GET", "/api/readings?metric=open")[0], 200)
        self.assertEqual(self.req(self.analyst, "POST", path, one)[0], 403)
        self.assertEqual(self.req(self.analyst, "DELETE", f"/api/devices/{dev}")[0], 403)
        # a session cookie is not a way in: the API takes tokens only
        status, _ = self.req(None, "GET", "/api/devices")
        self.assertEqual(status, 401)

    def test_a_bad_config_file_stops_every_command(self):
        # a misspelt line may be the setting a command needs (its database): nothing is done
        path = os.path.join(self.db.dir, "app.env")
        with open(path, "w") as f:
            f.write("CADRE_PORT=8000\nDATABASE_URL=sqlite:///elsewhere.db\n")
        for command in (["migrate"], ["createuser", "--noinput"], ["serve", "--port", "0"]):
            rc, out, err = self.db.run(*command, env={"CADRE_CONFIG": path})
            self.assertEqual(rc, 1, (command, out, err))
            self.assertIn(f"{path}:2: not a setting", err)
            self.assertIn("has errors (said above): nothing done", err)
            self.assertNotIn("Applying", out)

    def test_no_pages(self):
        # a service: no home page, no admin, no login page; the API's docs only
        for path in ("/", "/admin/", "/accounts/login/"):
            status, _, raw = self.server.request("GET", path, token=None,
                                                 headers={"Accept": "application/json"})
            self.assertEqual(status, 404, (path, raw))
        status, doc, _ = self.server.request("GET", "/openapi.json", token=None)
        self.assertEqual(status, 200)
        self.assertIn("/api/devices/{id}/readings", doc["paths"])
        op = doc["paths"]["/api/devices/{id}/readings"]["post"]
        self.assertEqual(op["summary"], "Store a batch of readings")
        self.assertIn("201", op["responses"])
        self.assertEqual(set(doc["paths"]) & {"/", "/admin/", "/accounts/login/"}, set())
        schemes = doc["components"]["securitySchemes"]
        self.assertTrue(any(s.get("scheme") == "bearer" for s in schemes.values()), schemes)
        self.assertFalse(any(s.get("in") == "cookie" for s in schemes.values()), schemes)


if __name__ == "__main__":
    unittest.main(verbosity=2)
