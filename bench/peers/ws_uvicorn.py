#!/usr/bin/python3
"""The WebSocket echo peer of bench/ws-echo: an ASGI app that sends every message back as it
came (text as text, bytes as bytes), served by uvicorn with its `websockets` protocol
(python3-websockets), uvloop and httptools, messages up to 4 MiB, N worker processes (N = the
core count by default, as uvicorn's and FastAPI's deployment advice say).

    /usr/bin/python3 bench/peers/ws_uvicorn.py [--port P] [--workers N] [--mode reuseport|workers]
                                               [--loop uvloop|asyncio] [--http httptools|h11]

Prints "ws_uvicorn: listening on http://127.0.0.1:PORT (...)" on stderr once every worker has
started (its lifespan startup ran), then serves /ws (any path) until SIGTERM or SIGINT.
--port 0 (the default) picks a free port.

--mode reuseport (the default): one SO_REUSEPORT listening socket per worker process, as the
FastAPI peer of ../shared/bench does (its SPEC, "Measurement"): the kernel spreads connections
over the workers by hash. --mode workers: stock `uvicorn --workers N`, one listening socket that
all workers accept from, which often hands a burst of connections (the load generator opens all
of them at once, and WebSocket connections then stay) mostly to one worker.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MAX_MESSAGE = 4 << 20
HERE = os.path.dirname(os.path.abspath(__file__))
READY_DIR = "WS_UVICORN_READY_DIR"  # each worker leaves a file there when it has started


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                ready = os.environ.get(READY_DIR)
                if ready:
                    with open(os.path.join(ready, str(os.getpid())), "w"):
                        pass
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":  # plain HTTP: 404
        await send({"type": "http.response.start", "status": 404,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"a WebSocket echo: connect to /ws\n"})
        return
    event = await receive()
    if event["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        event = await receive()
        if event["type"] == "websocket.receive":
            if event.get("text") is not None:
                reply = {"type": "websocket.send", "text": event["text"]}
            else:
                reply = {"type": "websocket.send", "bytes": event["bytes"]}
            try:
                await send(reply)
            except Exception:  # the client closed meanwhile: uvicorn 0.17 raises websockets'
                return         # ConnectionClosedOK (and logs a traceback if it gets out)
        elif event["type"] == "websocket.disconnect":
            return


def config_kwargs(args):
    return dict(loop=args.loop, http=args.http, ws="websockets", ws_max_size=MAX_MESSAGE,
                lifespan="on", access_log=False, log_level="warning", backlog=4096)


def run_worker(args):
    """One reuseport worker: serves the listening socket it inherited (descriptor --fd)."""
    sys.path.insert(0, HERE)
    import uvicorn

    sock = socket.socket(fileno=args.fd)
    config = uvicorn.Config("ws_uvicorn:app", **config_kwargs(args))
    uvicorn.Server(config).run(sockets=[sock])


def listen(port, reuseport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4096)
    return s


def announce_when_ready(ready_dir, n, port, what, deadline_s=60):
    """Prints the listening line once n workers have started (bounded)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if len(os.listdir(ready_dir)) >= n:
            print(f"ws_uvicorn: listening on http://127.0.0.1:{port} ({what})", file=sys.stderr,
                  flush=True)
            return True
        time.sleep(0.05)
    print(f"ws_uvicorn: {n} workers did not all start within {deadline_s} s", file=sys.stderr,
          flush=True)
    return False


def supervise_reuseport(args, ready_dir):
    # Every socket is bound and listening before a worker starts: a connection made while the
    # workers import goes to one of the N queues, never to a worker started early.
    first = listen(args.port, True)
    port = first.getsockname()[1]
    socks = [first] + [listen(port, True) for _ in range(args.workers - 1)]
    procs = []
    for s in socks:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--fd", str(s.fileno()),
               "--loop", args.loop, "--http", args.http]
        procs.append(subprocess.Popen(cmd, pass_fds=[s.fileno()]))
    for s in socks:
        s.close()
    stopping = False

    def stop(signum=None, frame=None):
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    what = (f"{args.workers} uvicorn worker processes, one SO_REUSEPORT socket each, "
            f"loop {args.loop}, http {args.http}, ws websockets")
    announced = False
    start_deadline = time.monotonic() + 60
    status = 0
    while any(p.poll() is None for p in procs):  # ends: the workers stop on SIGTERM or exit
        if stopping:  # each worker gets 10 s to stop, then is killed
            end = time.monotonic() + 10
            while any(p.poll() is None for p in procs) and time.monotonic() < end:
                time.sleep(0.05)
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            break
        if any(p.poll() is not None for p in procs):
            print("ws_uvicorn: a worker exited; stopping the others", file=sys.stderr)
            status = 1
            stop()
        elif not announced and len(os.listdir(ready_dir)) >= args.workers:
            print(f"ws_uvicorn: listening on http://127.0.0.1:{port} ({what})", file=sys.stderr,
                  flush=True)
            announced = True
        elif not announced and time.monotonic() > start_deadline:
            print("ws_uvicorn: the workers did not all start within 60 s", file=sys.stderr)
            status = 1
            stop()
        time.sleep(0.05)
    return status


def run_stock_workers(args, ready_dir):
    """`uvicorn --workers N`: uvicorn binds one socket and its workers share it."""
    sys.path.insert(0, HERE)
    import uvicorn

    port = args.port
    if not port:  # a free port, for uvicorn to bind again (SO_REUSEADDR) at once
        with listen(0, False) as probe:
            port = probe.getsockname()[1]
    what = f"uvicorn --workers {args.workers}: one shared socket, loop {args.loop}, " \
           f"http {args.http}, ws websockets"
    threading.Thread(target=announce_when_ready, args=(ready_dir, args.workers, port, what),
                     daemon=True).start()
    uvicorn.run("ws_uvicorn:app", host="127.0.0.1", port=port, workers=args.workers,
                **config_kwargs(args))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--mode", choices=["reuseport", "workers"], default="reuseport")
    p.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    p.add_argument("--http", choices=["httptools", "h11"], default="httptools")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return run_worker(args)
    with tempfile.TemporaryDirectory(prefix="ws_uvicorn.") as ready_dir:
        os.environ[READY_DIR] = ready_dir
        if args.mode == "reuseport":
            return supervise_reuseport(args, ready_dir)
        return run_stock_workers(args, ready_dir)


if __name__ == "__main__":
    sys.exit(main())
