"""The jobs benchmark's Celery peer (bench/jobs, issue #17): a no-op task through kombu's
SQLAlchemy transport, the database as the broker, as Cadre's tasks module uses its database.
Debian's python3-celery, python3-sqlalchemy and python3-psycopg2 (run with /usr/bin/python3).

    JOBS_BROKER=sqla+sqlite:////tmp/x/celery.db | sqla+postgresql://USER@127.0.0.1:PORT/DB
    JOBS_BACKEND=db+sqlite:////tmp/x/celery.db  (optional: the database result backend, a row of
                                                 celery_taskmeta per finished task; none if unset)
    JOBS_DONE_FILE=/tmp/x/done                  (optional: each finished task appends one byte,
                                                 so the file's size counts completions)
    JOBS_READY_FILE=/tmp/x/ready                (optional: created when the worker consumes)

    python3 celery_jobs.py init          creates the broker's tables and the queue
    python3 celery_jobs.py enqueue N [--wait]
                                         N no-op tasks; prints {"enqueued":N,"seconds":S}
                                         (S: the publishing alone, connection made before);
                                         --wait: connects, prints "ready", then waits for a line
                                         on stdin before publishing
    python3 -m celery -A celery_jobs worker …     runs them (from this directory)

On SQLite the connections get the pragmas Cadre's have (WAL, synchronous=NORMAL): the same
durability for both. kombu's transport takes one message a transaction (SELECT … FOR UPDATE
LIMIT 1, then marks it invisible; on SQLite under BEGIN IMMEDIATE); an acknowledgement is kept
in the worker's memory only: the row stays, invisible.
"""
import json
import os
import sys
import time

from celery import Celery, signals
from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, record):
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


broker = os.environ.get("JOBS_BROKER")
if not broker:
    sys.exit("celery_jobs: set JOBS_BROKER (sqla+sqlite:///PATH or sqla+postgresql://…)")
backend = os.environ.get("JOBS_BACKEND") or None

app = Celery("celery_jobs", broker=broker, backend=backend)
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_ignore_result=backend is None,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_done = {"pid": None, "fd": None}


def _mark_done():
    """One byte appended to $JOBS_DONE_FILE (O_APPEND: atomic between processes)."""
    path = os.environ.get("JOBS_DONE_FILE")
    if not path:
        return
    if _done["pid"] != os.getpid():  # a prefork child: a descriptor of its own
        _done["fd"] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _done["pid"] = os.getpid()
    os.write(_done["fd"], b"x")


@signals.worker_ready.connect
def _ready(**kwargs):
    path = os.environ.get("JOBS_READY_FILE")
    if path:
        with open(path, "w") as f:
            f.write(str(time.time()))


@app.task(name="noop")
def noop(n):
    _mark_done()


def main(argv):
    if len(argv) >= 2 and argv[1] == "init":
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=3)
            conn.default_channel.queue_declare(queue=app.conf.task_default_queue)
        return 0
    if len(argv) in (3, 4) and argv[1] == "enqueue" and argv[3:] in ([], ["--wait"]):
        n = int(argv[2])
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=3)
            conn.default_channel.queue_declare(queue=app.conf.task_default_queue)
            with app.producer_or_acquire() as producer:
                if argv[3:] == ["--wait"]:
                    print("ready", flush=True)
                    sys.stdin.readline()
                t0 = time.monotonic()
                for i in range(n):
                    noop.apply_async((i,), producer=producer)
                took = time.monotonic() - t0
        print(json.dumps({"enqueued": n, "seconds": round(took, 6)}))
        return 0
    print("usage: celery_jobs.py init | enqueue N [--wait]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
