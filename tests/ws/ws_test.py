#!/usr/bin/env python3
"""WebSockets with a real client (Debian's python3-websockets) against tests/ws/wsapp: echo of
text and binary up to 4 MiB, many clients at once, the server's close codes (its own close, a
failing handler, idle, an unanswered ping, the stop), subprotocols, guards and origins before
the upgrade, a slow reader (the sender waits, nothing is lost), answers to messages read at once
batched yet in order and written before the handler waits, 10,000 idle sockets held by one
worker; topics: a message published from a request or another thread reaches the sockets
subscribed on every worker, in order, and no other. Every wait is bounded.    ws_test.py WSAPP_BINARY"""
import asyncio
import os
import resource
import signal
import socket
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from served import Served  # noqa: E402  (tests/lib)
import websockets  # Debian's python3-websockets: this file runs under /usr/bin/python3

APP = sys.argv.pop(1) if len(sys.argv) > 1 else None
TIMEOUT = 20


class Server(Served):
    """wsapp serving on a free port; its log lines kept."""

    def __init__(self, workers=1, *options):
        super().__init__([APP, "serve", "--port", "0", "--workers", str(workers),
                          "--shutdown-timeout", "5000", *options])

    def url(self, path):
        return f"ws://127.0.0.1:{self.port}{path}"

def run(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def closed_with(ws):
    """Reads until the server closes → (code, reason)."""
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as e:
        return e.code, e.reason


class WebSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def connect(self, path, **kw):
        kw.setdefault("max_size", None)
        kw.setdefault("open_timeout", 10)
        return websockets.connect(self.server.url(path), **kw)

    def test_echo_text_and_binary_up_to_4_mib(self):
        async def go():
            async with self.connect("/ws/echo") as ws:
                for text in ["", "hello", "héllo wörld ✓ 𝄞", "x" * 125, "y" * 126, "z" * 65536]:
                    await ws.send(text)
                    self.assertEqual(await ws.recv(), text)
                for size in [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20]:
                    data = os.urandom(size)
                    await ws.send(data)
                    got = await ws.recv()
                    self.assertIsInstance(got, bytes)
                    self.assertEqual(got, data, size)
                # fragmented by the client: one message back
                await ws.send(["frag", "mented ", "text"])
                self.assertEqual(await ws.recv(), "fragmented text")
                pong = await ws.ping(b"are you there")
                await asyncio.wait_for(pong, 5)
        run(go())

    def test_permessage_deflate_with_python_websockets(self):
        """python-websockets offers permessage-deflate (RFC 7692) by default: the server takes
        it without context takeover either way, and messages of every size and kind come back
        whole; a client that offers nothing, and a route with .no_compression, go without."""
        import json
        doc = json.dumps([{"id": i, "name": f"item {i}", "note": "é✓"} for i in range(20000)])

        async def go():
            async with self.connect("/ws/echo") as ws:
                [ext] = ws.extensions
                self.assertEqual(ext.name, "permessage-deflate")
                self.assertTrue(ext.remote_no_context_takeover, "server_no_context_takeover")
                self.assertTrue(ext.local_no_context_takeover, "client_no_context_takeover")
                for msg in ["", "hi", "x" * 255, "y" * 256, doc, os.urandom(70000),
                            doc.encode() * 3, bytes(4 << 20)]:
                    await ws.send(msg)
                    self.assertEqual(await ws.recv(), msg)
                await ws.send([doc[:100000], doc[100000:]])  # fragmented, compressed as one
                self.assertEqual(await ws.recv(), doc)
            async with self.connect("/ws/echo", compression=None) as ws:
                self.assertEqual(ws.extensions, [])
                await ws.send(doc)
                self.assertEqual(await ws.recv(), doc)
            async with self.connect("/ws/plain") as ws:
                self.assertEqual(ws.extensions, [], "a route with .no_compression")
                await ws.send(doc)
                self.assertEqual(await ws.recv(), doc)
            # what cadre_ws_compressed tells the handler
            async with self.connect("/ws/compressed") as ws:
                self.assertEqual(await ws.recv(), "compressed")
            async with self.connect("/ws/compressed", compression=None) as ws:
                self.assertEqual(await ws.recv(), "plain")
        run(go())

    def test_message_over_the_limit_closes_with_1009(self):
        async def go():
            async with self.connect("/ws/small") as ws:
                await ws.send("a" * 1024)
                self.assertEqual(len(await ws.recv()), 1024)
                await ws.send("a" * 1025)
                return await closed_with(ws)
        self.assertEqual(run(go())[0], 1009)

    def test_many_clients_at_once(self):
        async def client(i):
            async with self.connect("/ws/echo") as ws:
                for k in range(20):
                    msg = f"client {i} message {k}"
                    await ws.send(msg)
                    if await ws.recv() != msg:
                        return False
            return True

        async def go():
            return await asyncio.gather(*(client(i) for i in range(200)))
        self.assertTrue(all(run(go())))

    def test_server_close_with_code_and_reason(self):
        async def go():
            async with self.connect("/ws/close") as ws:
                await ws.send("12345")
                self.assertEqual(await ws.recv(), "got 5 bytes")
                return await closed_with(ws)
        self.assertEqual(run(go()), (4000, "bye"))

    def test_failing_handler_closes_with_1011(self):
        async def go():
            async with self.connect("/ws/broken") as ws:
                return await closed_with(ws)
        self.assertEqual(run(go())[0], 1011)

    def test_idle_connection_is_closed_with_1001(self):
        async def go():
            async with self.connect("/ws/idle", ping_interval=None) as ws:
                await ws.send("still here")
                self.assertEqual(await ws.recv(), "still here")
                t = time.monotonic()
                code = await closed_with(ws)
                return code, time.monotonic() - t
        (code, _), waited = run(go())
        self.assertEqual(code, 1001)
        self.assertGreaterEqual(waited, 0.25)  # idle_timeout_ms = 300, counted from the message

    def test_pings_keep_an_answering_client_and_drop_a_silent_one(self):
        # the real client answers the server's pings: the connection lives past many intervals
        async def answering():
            async with self.connect("/ws/ping", ping_interval=None) as ws:
                await asyncio.sleep(1.2)  # 6 ping intervals of 200 ms
                await ws.send("alive")
                return await ws.recv()
        self.assertEqual(run(answering()), "alive")
        # a client that never answers (raw socket): pinged after 200 ms, closed 1011 after 400
        s = handshake(self.server.port, "/ws/ping")
        t = time.monotonic()
        frames = read_frames(s, until_close=True)
        s.close()
        self.assertEqual([op for op, _ in frames], [0x9, 0x8])
        self.assertEqual(int.from_bytes(frames[-1][1][:2], "big"), 1011)
        self.assertGreaterEqual(time.monotonic() - t, 0.35)

    def test_a_close_left_unanswered_ends_the_connection(self):
        # the server closes (4000); this client never answers: the TCP connection ends after
        # the server's close wait (5 s), not at the next ping interval (30 s by default)
        s = handshake(self.server.port, "/ws/close")
        send_frame(s, 0x1, b"x")
        frames = read_frames(s, until_close=True)
        self.assertEqual(frames[0], (0x1, b"got 1 bytes"))
        self.assertEqual(int.from_bytes(frames[-1][1][:2], "big"), 4000)
        t = time.monotonic()
        s.settimeout(15)
        rest = b""
        while chunk := s.recv(4096):  # bounded: the server closes, or the timeout raises
            rest += chunk
        s.close()
        self.assertEqual(rest, b"")
        self.assertTrue(4.5 <= time.monotonic() - t < 12, time.monotonic() - t)

    def test_subprotocol_negotiation(self):
        async def chosen(offer):
            async with self.connect("/ws/proto", subprotocols=offer) as ws:
                return await ws.recv(), ws.subprotocol
        self.assertEqual(run(chosen(["chat", "v2.chat"])), ("v2.chat", "v2.chat"))  # ours first
        self.assertEqual(run(chosen(["chat"])), ("chat", "chat"))
        self.assertEqual(run(chosen(["other"])), ("none", None))

    def test_guards_run_before_the_upgrade(self):
        async def refused():
            async with self.connect("/ws/guarded"):
                pass
        with self.assertRaises(websockets.InvalidStatusCode) as e:
            run(refused())
        self.assertEqual(e.exception.status_code, 403)

        async def allowed():
            async with self.connect("/ws/guarded",
                                    extra_headers={"X-Allow": "yes", "X-User": "ann"}) as ws:
                return await ws.recv()
        self.assertEqual(run(allowed()), "hello ann")

        async def with_param():
            async with self.connect("/ws/items/42", extra_headers={"X-User": "bob"}) as ws:
                return await ws.recv()
        self.assertEqual(run(with_param()), "hello bob")

    def test_origin_check(self):
        async def try_origin(origin):
            async with self.connect("/ws/origin", origin=origin) as ws:
                await ws.send("hi")
                return await ws.recv()
        self.assertEqual(run(try_origin("https://trusted.example")), "hi")
        self.assertEqual(run(try_origin(f"http://127.0.0.1:{self.server.port}")), "hi")
        with self.assertRaises(websockets.InvalidStatusCode) as e:
            run(try_origin("https://evil.example"))
        self.assertEqual(e.exception.status_code, 403)

    def test_slow_reader_makes_the_sender_wait_and_loses_nothing(self):
        count, size = 400, 64 * 1024  # 25 MiB: far more than the socket buffers hold

        async def go():
            async with self.connect(f"/ws/flood?count={count}&size={size}",
                                    max_queue=1, read_limit=2 ** 16) as ws:
                got = 0
                async for m in ws:
                    self.assertEqual(len(m), size)
                    self.assertEqual(m[:1], bytes([ord("a") + got % 26]))
                    got += 1
                    if got % 50 == 0:
                        await asyncio.sleep(0.05)  # slower than the server writes
                return got, ws.close_code
        self.assertEqual(run(go()), (count, 1000))
        # the server's memory stayed bounded: it waited instead of queueing 25 MiB
        if not self.server.sanitized():
            self.assertLess(self.server.rss_kib(), 60 * 1024)

    def test_messages_sent_in_one_write_are_all_echoed_in_order(self):
        # the answers to messages read at once are written together (a batch): none is lost or
        # reordered, a ping among them is answered in its place, and the batch is written when
        # the handler waits for more, though the last frame read (a pong) has no answer
        n = 50
        msgs = [f"m{i} ".encode() + b"x" * (i * 37) for i in range(n)]  # 3 bytes to 1.8 KB
        s = handshake(self.server.port, "/ws/echo")
        try:
            batch = [frame(0x1, m) for m in msgs]
            batch.insert(n // 2, frame(0x9, b"in the middle"))
            batch.append(frame(0xA, b"unsolicited"))
            s.sendall(b"".join(batch))
            want = [(0x1, m) for m in msgs]
            want.insert(n // 2, (0xA, b"in the middle"))
            self.assertEqual(read_frames(s, count=n + 1), want)
            send_frame(s, 0x1, b"after")  # the connection goes on
            self.assertEqual(read_frames(s, count=1), [(0x1, b"after")])
        finally:
            s.close()

    def test_what_a_handler_sent_is_written_before_it_waits(self):
        # /ws/sleepy answers "a", sleeps 2 s, answers "b": with a second message already read,
        # "a" is held back for a batch, and must still go out when the handler suspends
        s = handshake(self.server.port, "/ws/sleepy")
        try:
            start = time.monotonic()
            s.sendall(frame(0x1, b"1") + frame(0x1, b"2"))
            s.settimeout(1)
            self.assertEqual(read_frames(s, count=1), [(0x1, b"a")])
            self.assertLess(time.monotonic() - start, 1.5)
            s.settimeout(10)
            self.assertEqual(read_frames(s, count=3), [(0x1, b"b"), (0x1, b"a"), (0x1, b"b")])
            self.assertGreater(time.monotonic() - start, 3.5)  # the two sleeps happened
        finally:
            s.close()

    def test_plain_get_is_426_and_http_still_works(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"GET /ws/echo HTTP/1.1\r\nHost: t\r\n\r\n")
            head = recv_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 426 "), head)
        self.assertIn(b"\r\nupgrade: websocket\r\n", head.lower())
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            self.assertTrue(recv_head(s).startswith(b"HTTP/1.1 200 "))


def publish_to(port, topic, body, **params):
    """POST /publish on the instance at port → (status, body)."""
    q = urllib.parse.urlencode({"t": topic, **params})
    req = urllib.request.Request(f"http://127.0.0.1:{port}/publish?{q}",
                                 data=body if isinstance(body, bytes) else body.encode(),
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class TopicsTest(unittest.TestCase):
    """cadre_ws_publish across two worker threads (wsapp's /ws/topic and POST /publish)."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def publish(self, topic, body, **params):
        return publish_to(self.server.port, topic, body, **params)

    async def subscribers(self, topics, min_threads=2, limit=64):
        """Sockets subscribed to topics, opened until they are on min_threads worker threads
        (connections are spread over the workers by the kernel; bounded by limit)."""
        socks, threads = [], set()
        while len(socks) < limit and (len(threads) < min_threads or len(socks) < 8):
            ws = await websockets.connect(self.server.url(f"/ws/topic?t={topics}"),
                                          open_timeout=10)
            ready = await ws.recv()
            self.assertTrue(ready.startswith("ready "), ready)
            threads.add(ready.split()[1])
            socks.append(ws)
        self.assertGreaterEqual(len(threads), min_threads,
                                f"{limit} connections all went to one worker")
        return socks

    def test_publish_reaches_subscribers_on_every_worker_and_no_one_else(self):
        async def go():
            socks = await self.subscribers("news,all")
            other = await websockets.connect(self.server.url("/ws/topic?t=sport,all"))
            await other.recv()
            try:
                self.assertEqual(self.publish("news", "héllo"), (200, '{"rc": "0"}\n'))
                self.assertEqual(self.publish("news", b"\x00\xff", binary="1")[0], 200)
                self.assertEqual(self.publish("all", "to all")[0], 200)
                for ws in socks:
                    self.assertEqual(await ws.recv(), "héllo")
                    self.assertEqual(await ws.recv(), b"\x00\xff")
                    self.assertEqual(await ws.recv(), "to all")
                # the other socket's first message is the one to a topic it has: it never saw news
                self.assertEqual(await other.recv(), "to all")
            finally:
                for ws in socks + [other]:
                    await ws.close()
        run(go())

    def test_publish_from_another_thread_in_order(self):
        async def go():
            socks = await self.subscribers("ticks")
            try:
                self.assertEqual(self.publish("ticks", "tick", count="200", thread="1")[0], 200)
                for ws in socks:
                    got = [await ws.recv() for _ in range(200)]
                    self.assertEqual(got, [f"tick {i}" for i in range(200)])
            finally:
                for ws in socks:
                    await ws.close()
        run(go())

    def test_subscribe_and_unsubscribe_while_connected(self):
        async def go():
            async with websockets.connect(self.server.url("/ws/topic?t=a")) as ws:
                await ws.recv()
                await ws.send("sub b")
                self.assertEqual(await ws.recv(), "sub b: 0")
                await ws.send("sub b")  # again: a no-op
                self.assertEqual(await ws.recv(), "sub b: 0")
                await ws.send("unsub a")
                self.assertEqual(await ws.recv(), "unsub a: 0")
                await ws.send("unsub a")
                self.assertEqual(await ws.recv(), "unsub a: CADRE_ENOTFOUND")
                await ws.send("sub " + "x" * 256)
                self.assertEqual(await ws.recv(), "sub " + "x" * 256 + ": CADRE_EINVAL")
                await ws.send("unsub " + "x" * 256)  # a topic no subscribe takes
                self.assertEqual(await ws.recv(), "unsub " + "x" * 256 + ": CADRE_EINVAL")
                self.publish("a", "to a")
                self.publish("b", "to b")
                self.assertEqual(await ws.recv(), "to b")  # a's never came
        run(go())

    def test_a_closed_socket_hears_nothing_and_the_server_goes_on(self):
        async def go():
            for _ in range(20):
                async with websockets.connect(self.server.url("/ws/topic?t=gone")) as ws:
                    await ws.recv()
                self.assertEqual(self.publish("gone", "anyone?")[0], 200)
            async with websockets.connect(self.server.url("/ws/topic?t=gone")) as ws:
                await ws.recv()
                self.publish("gone", "you")
                self.assertEqual(await ws.recv(), "you")
        run(go())

    def test_bad_publications_are_refused(self):
        self.assertEqual(self.publish("", "x"), (400, '{"rc": "CADRE_EINVAL"}\n'))
        self.assertEqual(self.publish("t" * 256, "x")[0], 400)
        self.assertEqual(self.publish("t", b"\xff\xfe")[0], 400)  # text that is not UTF-8
        self.assertEqual(self.publish("t", b"\xff\xfe", binary="1")[0], 200)
        self.assertEqual(self.publish("t", b"", size=str(1 << 20))[0], 200)  # the largest
        self.assertEqual(self.publish("t", b"", size=str((1 << 20) + 1))[0], 400)


@unittest.skipUnless(os.environ.get("CADRE_TEST_PG"), "needs PostgreSQL (tests/pg/with-postgres)")
class InstancesTest(unittest.TestCase):
    """Topics across two instances on one PostgreSQL (cadre_db_relay_topics): what either
    publishes reaches both's sockets, once, in order, whatever its size or kind."""

    @classmethod
    def setUpClass(cls):
        env = dict(os.environ, CADRE_DATABASE_URL=os.environ["CADRE_TEST_PG"])
        cls.a = Served([APP, "serve", "--port", "0", "--workers", "2",
                        "--shutdown-timeout", "5000"], env=env)
        cls.b = Served([APP, "serve", "--port", "0", "--workers", "1",
                        "--shutdown-timeout", "5000"], env=env)
        for inst in (cls.a, cls.b):
            inst.wait_log(r"websocket topics: listening to the other instances")

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()

    async def subscriber(self, inst, topics):
        ws = await websockets.connect(f"ws://127.0.0.1:{inst.port}/ws/topic?t={topics}",
                                      open_timeout=10, max_size=None)
        ready = await ws.recv()
        self.assertTrue(ready.startswith("ready "), ready)
        return ws

    def test_what_one_instance_publishes_reaches_the_others_sockets_once(self):
        big_text = "aé€😀" * 30000  # 300,000 bytes of 1- to 4-byte characters, cut into chunks
        big_bin = os.urandom(1 << 20)  # CADRE_WS_PUBLISH_MAX

        async def go():
            on_a = await self.subscriber(self.a, "x")
            on_b = await self.subscriber(self.b, "x")
            other = await self.subscriber(self.a, "y")
            try:
                for body, kw in (("héllo", {}), (b"a\x00b", {}), (b"\x00\xff", {"binary": "1"}),
                                 (big_text, {}), (big_bin, {"binary": "1"})):
                    self.assertEqual(publish_to(self.b.port, "x", body, **kw)[0], 200)
                    want = body if kw or isinstance(body, str) else body.decode()
                    for ws in (on_a, on_b):
                        got = await ws.recv()
                        self.assertEqual((type(got), len(got)), (type(want), len(want)))
                        self.assertEqual(got, want)
                # from a: b hears it; a's own socket hears it once (the relay's echo is skipped)
                self.assertEqual(publish_to(self.a.port, "x", "from a")[0], 200)
                self.assertEqual(await on_b.recv(), "from a")
                self.assertEqual(await on_a.recv(), "from a")
                self.assertEqual(publish_to(self.b.port, "x", "end")[0], 200)
                self.assertEqual(await on_a.recv(), "end", "a heard its own message twice")
                self.assertEqual(await on_b.recv(), "end")
                # the socket of another topic heard none of it
                self.assertEqual(publish_to(self.b.port, "y", "to y")[0], 200)
                self.assertEqual(await other.recv(), "to y")
            finally:
                for ws in (on_a, on_b, other):
                    await ws.close()
        run(go())

    def test_one_publishers_messages_arrive_in_order(self):
        async def go():
            on_a = await self.subscriber(self.a, "ticks")
            try:
                self.assertEqual(publish_to(self.b.port, "ticks", "tick", count="300",
                                            thread="1")[0], 200)
                got = [await on_a.recv() for _ in range(300)]
                self.assertEqual(got, [f"tick {i}" for i in range(300)])
            finally:
                await on_a.close()
        run(go())


class QuietSocketTest(unittest.TestCase):
    """A WebSocket on which nobody sends anything is not a request whose head is late: the
    server's header timeout (here 500 ms) does not close it (it did, found by a helper)."""

    def test_a_quiet_socket_outlives_the_header_timeout(self):
        server = Server(1, "--header-timeout", "500")
        try:
            async def go():
                async with websockets.connect(server.url("/ws/echo"), open_timeout=10,
                                              ping_interval=None) as ws:
                    await asyncio.sleep(1.5)  # three header timeouts, in silence
                    await ws.send("still here")
                    return await ws.recv()
            self.assertEqual(run(go()), "still here")
        finally:
            server.stop()


class StopTest(unittest.TestCase):
    def test_stop_closes_sockets_with_1001(self):
        server = Server()
        try:
            async def go():
                async with websockets.connect(server.url("/ws/echo"), open_timeout=10) as ws:
                    await ws.send("before")
                    self.assertEqual(await ws.recv(), "before")
                    server.proc.send_signal(signal.SIGTERM)
                    return await closed_with(ws)
            self.assertEqual(run(go())[0], 1001)
            server.proc.wait(timeout=15)
            self.assertEqual(server.proc.returncode, 0)
        finally:
            server.stop()


class InflatedMessagesTest(unittest.TestCase):
    def test_sockets_idle_after_a_large_compressed_message_hold_little(self):
        """4 MiB of zeros is 4 KiB compressed: 50 sockets that each sent one and now wait must
        not each keep the 4 MiB it inflated to (200 MiB for 200 KiB of traffic)."""
        server = Server()
        try:
            before = server.rss_kib()

            async def go():
                socks = []
                try:
                    for _ in range(50):
                        ws = await websockets.connect(server.url("/ws/echo"), max_size=None,
                                                      open_timeout=10)
                        socks.append(ws)
                        await ws.send(bytes(4 << 20))
                        self.assertEqual(await ws.recv(), bytes(4 << 20))
                    await socks[0].send("still served")  # each is still open, waiting
                    self.assertEqual(await socks[0].recv(), "still served")
                    return server.rss_kib() - before
                finally:
                    for ws in socks:
                        await ws.close()
            held = asyncio.run(asyncio.wait_for(go(), 60))
            print(f"\n50 sockets after a 4 MiB compressed message: {held / 1024:.1f} MiB more "
                  "RSS", file=sys.stderr)
            if not server.sanitized():
                self.assertLess(held, 40 * 1024)
        finally:
            server.stop()


class IdleSocketsTest(unittest.TestCase):
    """10,000 WebSockets held open and idle by one worker, each a coroutine waiting for its next
    message: the server's memory per socket, and an echo on a new socket meanwhile."""

    def test_10000_idle_sockets(self):
        n = 10000
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < n + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
        self.assertGreaterEqual(resource.getrlimit(resource.RLIMIT_NOFILE)[0], n + 100,
                                "this test needs 10,100 descriptors (ulimit -n)")
        server = Server()
        socks = []
        try:
            before = server.rss_kib()
            for i in range(n):
                socks.append(handshake(server.port, "/ws/echo", read_answer=False))
            # the answers, read once all are sent (each a 101)
            for s in socks:
                head = recv_head(s)
                assert head.startswith(b"HTTP/1.1 101 "), head
            held = server.rss_kib() - before
            # every socket is still served: a message on the last and on the first
            for s in (socks[-1], socks[0]):
                send_frame(s, 0x1, b"ping me")
                self.assertEqual(read_frames(s, count=1), [(0x1, b"ping me")])
            per_socket = held * 1024 / n
            print(f"\n10,000 idle WebSockets: {held / 1024:.1f} MiB more RSS, "
                  f"{per_socket / 1024:.1f} KiB each", file=sys.stderr)
            if not server.sanitized():
                self.assertLess(per_socket, 32 * 1024)
        finally:
            for s in socks:
                s.close()
            server.stop()


# --- raw sockets ----------------------------------------------------------------------------

def recv_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
        assert len(data) < 65536
    return data.split(b"\r\n\r\n", 1)[0] + b"\r\n"


def handshake(port, path, read_answer=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
              f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
    if read_answer:
        head = recv_head(s)
        assert head.startswith(b"HTTP/1.1 101 "), head
    return s


def send_frame(s, opcode, payload):
    s.sendall(frame(opcode, payload))


def frame(opcode, payload):
    """A client frame (masked), to send alone or with others in one write."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_frames(s, count=None, until_close=False):
    """Server frames → [(opcode, payload)], up to count of them or the close frame."""
    out = []
    while count is None or len(out) < count:
        b0, b1 = read_exact(s, 2)
        assert not b1 & 0x80, "a server frame is never masked"
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(read_exact(s, 2), "big")
        elif n == 127:
            n = int.from_bytes(read_exact(s, 8), "big")
        out.append((b0 & 0x0F, read_exact(s, n)))
        if until_close and out[-1][0] == 0x8:
            break
    return out


if __name__ == "__main__":
    unittest.main(verbosity=2)
