#!/usr/bin/env python3
"""The tasks module over real sockets, on SQLite (a temporary file) or, under
tests/pg/with-postgres, on PostgreSQL ($CADRE_TEST_PG): transactional enqueue, retries with
backoff on a fake clock, failing for good and `tasks retry`, uniqueness and `tasks cancel`,
timeouts, a worker killed mid-job (rescued, run once more, its result stored once), a stop that
releases running jobs, and 10,000 jobs through two instances, each done exactly once. Every wait
is bounded.    tasks_test.py TASKSAPP_BINARY"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from served import Served  # noqa: E402  (tests/lib)

APP = sys.argv.pop(1) if len(sys.argv) > 1 else None
PG = os.environ.get("CADRE_TEST_PG")
TMP = tempfile.mkdtemp(prefix="cadre-tasks-")
DB_URL = PG or f"sqlite://{TMP}/tasks.db"


def request(port, method, path, timeout=30):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
                  f"Connection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    try:
        body = json.loads(body) if body else None
    except ValueError:  # text: /livez's "ok"
        pass
    return int(head.split(b" ", 2)[1]), body


def command(*args, env=None):
    e = dict(os.environ, CADRE_DATABASE_URL=DB_URL, **(env or {}))
    return subprocess.run([APP, *args], env=e, capture_output=True, text=True, timeout=60)


class Instance(Served):
    """One tasksapp serving on a free port; its log lines kept."""

    def __init__(self, workers=1, cmd="serve", **env):
        e = dict(os.environ, CADRE_DATABASE_URL=DB_URL, TASKSAPP_POLL_MS="100")
        e.update({k: str(v) for k, v in env.items()})
        super().__init__([APP, cmd, "--port", "0", "--workers", str(workers),
                          "--shutdown-timeout", env.get("SHUTDOWN", "10000")], env=e)

    def post(self, path):
        return request(self.port, "POST", path)

    def get(self, path):
        return request(self.port, "GET", path)

    def job(self, id):
        status, body = self.get(f"/jobs/{id}")
        assert status == 200, (status, body)
        return body

    def wait_job(self, id, until, timeout=20):
        """Polls the job (every 50 ms, bounded) until until(job) holds; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            j = self.job(id)
            if until(j):
                return j
            if time.monotonic() > deadline:
                raise AssertionError(f"job {id} never got there: {j}\n" +
                                     "".join(self.lines[-20:]))
            time.sleep(0.05)

    def metrics(self):
        """GET /metrics → {series: value}."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        body = data.split(b"\r\n\r\n", 1)[1].decode()
        return {k: float(v) for k, v in (l.rsplit(" ", 1) for l in body.splitlines()
                                         if l and not l.startswith("#"))}

    def count(self, query):
        status, body = self.get("/count?" + query)
        assert status == 200, (status, body)
        return body


def ended(j):
    return j["state"] in ("completed", "failed", "cancelled")


class TasksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = command("migrate")
        assert out.returncode == 0, out.stderr

    def setUp(self):
        self.instances = []

    def start(self, **kw):
        inst = Instance(**kw)
        self.instances.append(inst)
        if len(self.instances) == 1:
            self.assertEqual(inst.post("/reset")[0], 200)
        return inst

    def tearDown(self):
        for inst in self.instances:
            inst.stop(signal.SIGKILL)

    def test_enqueue_is_transactional(self):
        a = self.start()
        status, body = a.post("/enqueue?key=rb&rollback=1")
        self.assertEqual((status, body), (200, {"rolled_back": True}))
        self.assertEqual(a.count("what=jobs")["n"], 0, "a rolled-back enqueue left a job")
        self.assertEqual(a.count("what=notes&key=rb")["n"], 0)
        status, body = a.post("/enqueue?key=ok")
        self.assertEqual(status, 201)
        j = a.wait_job(body["id"], ended)
        self.assertEqual((j["state"], j["attempt"], j["result"]), ("completed", 1, "done:ok:1"))
        self.assertIsNone(j["worker"])
        self.assertEqual(a.count("what=effects&key=ok")["n"], 1)
        self.assertEqual(a.count("what=notes&key=ok")["n"], 1)
        m = a.metrics()
        self.assertEqual(m['tasks_jobs_total{task="work",outcome="completed"}'], 1)
        self.assertEqual(m['tasks_job_duration_seconds_count{task="work"}'], 1)
        self.assertNotIn('tasks_jobs_total{task="work",outcome="retried"}', m)

    def test_enqueue_many_is_one_transactional_batch_in_order(self):
        a = self.start(TASKSAPP_CONCURRENCY=20)
        status, body = a.post("/enqueue?key=mrb&many=1&n=40&rollback=1")
        self.assertEqual((status, body), (200, {"rolled_back": True}))
        self.assertEqual(a.count("what=jobs")["n"], 0, "a rolled-back enqueue_many left jobs")
        status, body = a.post("/enqueue?key=ml&many=1&n=1&unique=u")
        self.assertGreaterEqual(status, 400, body)
        a.wait_log(r"\.unique names one job")
        # quotes, a backslash and UTF-8 in the results that completions carry in groups
        key = '%22q%5C%C3%A9'  # "q\é
        n = 600
        status, body = a.post(f"/enqueue?key={key}&many=1&n={n}")
        self.assertEqual(status, 201, body)
        ids = body["ids"]
        self.assertEqual(len(ids), n)
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), n)
        deadline = time.monotonic() + 60
        while a.count("what=jobs&state=completed")["n"] < n:
            self.assertLess(time.monotonic(), deadline, a.count("what=jobs&state=completed"))
            time.sleep(0.05)
        for i in (0, 1, n // 2, n - 1):  # each id is its own element's job, its result its own
            j = a.job(ids[i])
            self.assertEqual(json.loads(j["args"])["key"], f'"q\\é-{i}')
            self.assertEqual((j["state"], j["result"], j["worker"]),
                             ("completed", f'done:"q\\é-{i}:1', None))
        self.assertEqual(a.count("what=effects")["d"], n, "a job ran twice, or not at all")
        m = a.metrics()
        self.assertEqual(m['tasks_jobs_total{task="work",outcome="completed"}'], n)

    def test_retries_back_off_exponentially(self):
        a = self.start(TASKSAPP_FAKE_CLOCK=1)
        status, body = a.post("/enqueue?key=bo&fail=2")
        id = body["id"]
        j = a.wait_job(id, lambda j: j["attempt"] == 1 and j["state"] == "available")
        self.assertEqual(j["error"], "failing on purpose, attempt 1")
        delay1 = j["run_at"] - j["started_at"]
        self.assertTrue(750 <= delay1 <= 1250, f"first retry in {delay1} ms, not 1 s ± 25 %")
        # the clock stands still: the retry waits however long real time runs (polls every 100 ms)
        time.sleep(0.6)
        self.assertEqual(a.job(id)["attempt"], 1, "retried before its time")
        now = a.get("/clock")[1]["now"]
        a.post(f"/clock?advance={j['run_at'] - now - 1}")  # 1 ms early
        time.sleep(0.3)
        self.assertEqual(a.job(id)["attempt"], 1, "retried 1 ms before its time")
        a.post("/clock?advance=1")
        j = a.wait_job(id, lambda j: j["attempt"] == 2 and j["state"] == "available")
        delay2 = j["run_at"] - j["started_at"]
        self.assertTrue(1500 <= delay2 <= 2500, f"second retry in {delay2} ms, not 2 s ± 25 %")
        a.post(f"/clock?advance={delay2}")
        j = a.wait_job(id, ended)
        self.assertEqual((j["state"], j["attempt"], j["result"]), ("completed", 3, "done:bo:3"))
        self.assertEqual(j["error"], "failing on purpose, attempt 2", "the last failure is kept")
        self.assertEqual(a.count("what=effects&key=bo")["n"], 3)
        m = a.metrics()
        self.assertEqual(m['tasks_jobs_total{task="work",outcome="retried"}'], 2)
        self.assertEqual(m['tasks_jobs_total{task="work",outcome="completed"}'], 1)

    def test_fails_for_good_then_retried_from_the_command_line(self):
        a = self.start()
        status, body = a.post("/enqueue?key=pf&fail=1&permanent=1")
        id = body["id"]
        j = a.wait_job(id, ended)
        self.assertEqual((j["state"], j["attempt"]), ("failed", 1))
        self.assertIsNotNone(j["finished_at"])
        out = command("tasks", "failed")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, rf"(?m)^{id}\s+failed\s+work\s+default\s+1/20 .*failing on "
                                     r"purpose, attempt 1$")
        out = command("tasks", "retry", str(id))
        self.assertEqual((out.returncode, out.stdout), (0, f"Job {id} will run again.\n"))
        a.post("/clock?advance=0")  # wakes the workers (the command is another process)
        j = a.wait_job(id, lambda j: j["state"] == "completed")
        self.assertEqual((j["attempt"], j["result"]), (2, "done:pf:2"))
        out = command("tasks", "retry", str(id))
        self.assertEqual(out.returncode, 1)
        self.assertIn("has not failed or been cancelled", out.stderr)
        out = command("tasks", "retry", "999999")
        self.assertEqual((out.returncode, out.stderr), (1, "error: no job 999999\n"))
        out = command("tasks", "retry", "x")
        self.assertEqual(out.returncode, 2)
        self.assertIn("is not a job id", out.stderr)
        out = command("tasks", "sideways")
        self.assertEqual(out.returncode, 2)
        self.assertIn("usage:", out.stderr)

    def test_unique_key_holds_one_pending_job(self):
        a = self.start()
        status, first = a.post("/enqueue?key=u&unique=report-7&delay=600000")
        self.assertEqual(status, 201)
        status, second = a.post("/enqueue?key=u&unique=report-7&delay=600000")
        self.assertEqual((status, second), (409, first), "a second pending job with the key")
        self.assertEqual(a.count("what=notes&key=u")["n"], 1, "the refused enqueue's "
                         "transaction was the handler's to roll back")
        out = command("tasks", "cancel", str(first["id"]))
        self.assertEqual((out.returncode, out.stdout), (0, f"Job {first['id']} is cancelled.\n"))
        self.assertEqual(a.job(first["id"])["state"], "cancelled")
        out = command("tasks", "cancel", str(first["id"]))
        self.assertEqual(out.returncode, 1)
        self.assertIn("has ended already", out.stderr)
        status, third = a.post("/enqueue?key=u&unique=report-7")
        self.assertEqual(status, 201, "the key is free once its job ended")
        self.assertNotEqual(third, first)
        j = a.wait_job(third["id"], ended)
        self.assertEqual(j["state"], "completed")
        self.assertIsNone(j["unique_key"])
        status, fourth = a.post("/enqueue?key=u&unique=report-7")
        self.assertEqual(status, 201)
        self.assertEqual(a.job(first["id"])["attempt"], 0, "a cancelled job ran")

    def test_job_cancelled_while_running_stays_cancelled(self):
        a = self.start()
        status, body = a.post("/enqueue?key=cr&sleep=1500")
        self.assertEqual(status, 201)
        a.wait_job(body["id"], lambda j: j["state"] == "running")
        out = command("tasks", "cancel", str(body["id"]))
        self.assertEqual(out.returncode, 0, out.stderr)
        a.wait_log(rf"job {body['id']} \(work\) completed, but it is no longer this worker's")
        j = a.job(body["id"])
        self.assertEqual((j["state"], j["result"]), ("cancelled", None),
                         "a cancelled job's completion was written over it")

    def test_timeout_fails_the_attempt(self):
        a = self.start()
        status, body = a.post("/enqueue?task=slow&key=to&sleep=5000")
        t0 = time.monotonic()
        j = a.wait_job(body["id"], ended)
        self.assertLess(time.monotonic() - t0, 4, "the timeout did not cut the sleep short")
        self.assertEqual((j["state"], j["attempt"], j["max_attempts"]), ("failed", 2, 2))
        self.assertEqual(j["error"], "timed out after 300 ms")
        self.assertEqual(a.count("what=effects&key=to")["n"], 0)

    def test_killed_worker_job_is_rescued_and_run_once_more(self):
        opts = dict(TASKSAPP_HEARTBEAT_MS=200, TASKSAPP_RESCUE_MS=1500)
        a = self.start(**opts)
        status, body = a.post("/enqueue?key=kill&sleep_first=60000")
        id = body["id"]
        j = a.wait_job(id, lambda j: j["state"] == "running")
        self.assertIn(f":{a.proc.pid}:w0", j["worker"])
        a.wait_job(id, lambda j: j["heartbeat_at"] > j["started_at"])  # marked alive
        a.stop(signal.SIGKILL)
        b = self.start(**opts)
        self.assertEqual(b.job(id)["state"], "running", "rescued before its heartbeat went stale")
        j = b.wait_job(id, ended)
        self.assertEqual((j["state"], j["attempt"], j["result"]), ("completed", 2, "done:kill:2"))
        self.assertIn("rescued", j["error"])
        self.assertEqual(b.count("what=effects&key=kill")["n"], 1)
        b.wait_log(r"rescued 1 job")
        self.assertEqual(b.metrics()["tasks_jobs_rescued_total"], 1)

    def test_periodic_job_once_per_period_with_two_instances(self):
        base = (int(time.time()) // 60 * 60 + 30) * 1000  # the middle of a minute, both clocks
        a = self.start(TASKSAPP_FAKE_CLOCK=base, TASKSAPP_SCHEDULE=1)
        b = self.start(TASKSAPP_FAKE_CLOCK=base, TASKSAPP_SCHEDULE=1)
        tried = r"tasks: work \* \* \* \* \*: the job for \S+ \S+ UTC enqueued"
        for k in range(1, 4):
            for inst in (a, b):
                self.assertEqual(inst.post("/clock?advance=60000")[0], 200)
            deadline = time.monotonic() + 15
            while sum(len([l for l in i.lines if re.search(tried, l)]) for i in (a, b)) < 2 * k:
                self.assertLess(time.monotonic(), deadline, "".join(a.lines[-5:] + b.lines[-5:]))
                time.sleep(0.05)
            deadline = time.monotonic() + 15
            while a.count("what=effects&key=tick")["n"] < k:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
        lines = [l for i in (a, b) for l in i.lines if re.search(tried, l)]
        self.assertEqual(len([l for l in lines if l.rstrip().endswith("UTC enqueued")]), 3, lines)
        self.assertEqual(len([l for l in lines if "by another instance" in l]), 3, lines)
        periods = sorted(re.search(r"for (\S+ \S+) UTC", l).group(1) for l in lines)
        self.assertEqual(len(set(periods)), 3, periods)  # three minutes, each tried by both
        self.assertEqual(a.count("what=effects&key=tick"), {"n": 3, "d": 3})

    def test_bad_schedule_is_refused_at_start(self):
        out = command("serve", "--port", "0", env={"TASKSAPP_BAD_SCHEDULE": "0 25 * * *"})
        self.assertEqual(out.returncode, 1)
        self.assertIn('cadre_task_schedule(work, "0 25 * * *"): hour (0-23): a value is out of '
                      'range', out.stderr)
        out = command("serve", "--port", "0", env={"TASKSAPP_BAD_SCHEDULE": "0 0 30 2 *"})
        self.assertEqual(out.returncode, 1)
        self.assertIn('cadre_task_schedule(work, "0 0 30 2 *"): names no minute in the next '
                      'five years', out.stderr)

    def test_bad_queues_are_said_before_the_missing_worker_command(self):
        # the module that adds `worker` stopped at its set-up: its error comes first
        out = command("worker", "--port", "0", env={"CADRE_TASKS_QUEUES": "default,m@il"})
        self.assertEqual(out.returncode, 2)
        err = out.stderr
        self.assertIn("cadre_tasks: $CADRE_TASKS_QUEUES: queues: names of 1 to 100 letters", err)
        self.assertIn('1 configuration error(s) above: a module they stopped may be the one that '
                      'adds "worker"', err)
        self.assertLess(err.index("CADRE_TASKS_QUEUES"), err.index('unknown command "worker"'))
        # spaces around the names are fine
        out = command("tasks", "--limit", "1", env={"CADRE_TASKS_QUEUES": "default, mail"})
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_worker_runs_jobs_without_the_apps_routes(self):
        web = self.start(CADRE_TASKS_CONCURRENCY=0)  # enqueues only
        worker = self.start(cmd="worker")
        worker.wait_log(r"worker: runs the jobs of default \(10 at once per worker thread\)")
        status, body = web.post("/enqueue?key=wk")
        self.assertEqual(status, 201)
        deadline = time.monotonic() + 15
        while (j := web.job(body["id"]))["state"] != "completed":
            self.assertLess(time.monotonic(), deadline, j)
            time.sleep(0.05)
        self.assertEqual(web.count("what=pids&key=wk")["d"], 1)
        m = worker.metrics()
        self.assertEqual(m['tasks_jobs_total{task="work",outcome="completed"}'], 1)
        self.assertNotIn('tasks_jobs_total{task="work",outcome="completed"}', web.metrics())
        self.assertEqual(request(worker.port, "GET", "/livez")[0], 200)
        self.assertEqual(request(worker.port, "POST", "/enqueue?key=no")[0], 404)
        self.assertEqual(request(worker.port, "GET", f"/jobs/{body['id']}")[0], 404)
        out = command("worker", env={"CADRE_TASKS_CONCURRENCY": "0"})
        self.assertEqual(out.returncode, 2)
        self.assertIn("this worker would run no job: $CADRE_TASKS_CONCURRENCY", out.stderr)

    @unittest.skipUnless(DB_URL.startswith("postgres"), "LISTEN/NOTIFY is PostgreSQL's")
    def test_another_instances_job_wakes_an_idle_worker_at_once(self):
        # the worker looks by itself only every 60 s (its polls, its heartbeats): the job's
        # NOTIFY is what wakes it
        web = self.start(CADRE_TASKS_CONCURRENCY=0)
        worker = self.start(cmd="worker", TASKSAPP_POLL_MS=60000, TASKSAPP_HEARTBEAT_MS=60000,
                            TASKSAPP_RESCUE_MS=240000)
        worker.wait_log(r"tasks: listening for other instances' new jobs \(PostgreSQL's LISTEN\)")
        worker.wait_log(r"worker: runs the jobs of default")
        for key in ("n1", "n2"):  # twice: the worker was idle again in between
            status, body = web.post(f"/enqueue?key={key}")
            self.assertEqual(status, 201)
            j = web.wait_job(body["id"], ended, timeout=20)
            self.assertEqual(j["state"], "completed")

    def test_finished_jobs_deleted_after_retention(self):
        a = self.start(TASKSAPP_FAKE_CLOCK=1, TASKSAPP_RETENTION_S=3600)
        done = [a.post(f"/enqueue?key=old{i}")[1]["id"] for i in range(3)]
        for id in done:
            a.wait_job(id, ended)
        pending = a.post("/enqueue?key=later&delay=86400000")[1]["id"]
        a.post("/clock?advance=3000000")  # 50 min: within the retention, and a prune turn passes
        time.sleep(0.3)
        self.assertEqual(a.count("what=jobs")["n"], 4, "deleted before its retention")
        a.post("/clock?advance=1000000")  # past the hour
        deadline = time.monotonic() + 10
        while a.count("what=jobs")["n"] != 1:
            self.assertLess(time.monotonic(), deadline, a.count("what=jobs"))
            time.sleep(0.05)
        self.assertEqual(a.job(pending)["state"], "available", "a pending job was deleted")

    def test_queue_depth_in_metrics(self):
        a = self.start(TASKSAPP_HEARTBEAT_MS=100, TASKSAPP_RESCUE_MS=1000)
        for i in range(3):  # a queue no instance runs: they stay due
            self.assertEqual(a.post("/enqueue?key=q&queue=elsewhere")[0], 201)
        self.assertEqual(a.post("/enqueue?key=q&queue=elsewhere&delay=600000")[0], 201)
        a.post("/enqueue?key=r&sleep_first=60000")
        deadline = time.monotonic() + 10
        while (a.metrics()["tasks_jobs_due"], a.metrics()["tasks_jobs_running"]) != (3, 1):
            self.assertLess(time.monotonic(), deadline, a.metrics())
            time.sleep(0.05)

    def test_stop_releases_running_jobs(self):
        a = self.start(SHUTDOWN="1000")
        status, body = a.post("/enqueue?key=rel&sleep_first=60000")
        id = body["id"]
        a.wait_job(id, lambda j: j["state"] == "running")
        t0 = time.monotonic()
        a.stop(signal.SIGTERM)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(a.proc.returncode, 0)
        self.assertTrue(any("released 1 job(s) still running at the stop" in l for l in a.lines),
                        "".join(a.lines[-10:]))
        out = command("tasks", "available")
        self.assertRegex(out.stdout, rf"(?m)^{id}\s+available\s+work\s+default\s+0/20 ",
                         "released, its attempt not counted")
        b = self.start()
        j = b.wait_job(id, lambda j: j["state"] == "running")
        self.assertEqual((j["attempt"], j["worker"].split(":")[1]), (1, str(b.proc.pid)),
                         "the released job was not taken up again")

    def test_ten_thousand_jobs_through_two_instances_each_once(self):
        a = self.start(workers=2)
        self.start(workers=2)  # the second instance: its pid shows among the jobs' workers
        for i in range(4):
            status, body = a.post("/enqueue?key=bulk&n=2500")
            self.assertEqual(status, 201, body)
        deadline = time.monotonic() + 240
        while a.count("what=jobs&state=completed")["n"] < 10000:
            self.assertLess(time.monotonic(), deadline, a.count("what=jobs&state=completed"))
            time.sleep(0.2)
        effects = a.count("what=effects&key=bulk")
        self.assertEqual(effects, {"n": 10000, "d": 10000}, "a job ran twice, or not at all")
        self.assertEqual(a.count("what=jobs")["n"], 10000)
        if PG:  # on SQLite the instances take turns at one write lock: a busy one can starve
            # the other's claims (seen under ASan), which costs speed, never a job
            self.assertEqual(a.count("what=pids&key=bulk")["d"], 2, "one instance ran them all")
        out = command("tasks", "completed", "--limit", "10000")
        self.assertEqual(out.returncode, 0)
        self.assertEqual(len(out.stdout.splitlines()), 10001)


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
