#!/usr/bin/env python3
"""WebSocket conformance of the server side (RFC 6455), on raw sockets: every frame is built
and parsed here by hand (client frames masked with random keys), with Python's socket module
only. The cases follow the Autobahn testsuite's groups 1-7, 9, 12 and 13 (its client is not
packaged here), each written from the RFC's sections rather than from what the server happens to
do:

    0  the opening handshake (sections 4.1, 4.2, 4.4, 11.3), origins and guards
    1  framing: payload lengths around the 7/16/64-bit length forms, sent whole, in chunks,
       byte by byte (5.2)
    2  pings and pongs (5.5.2, 5.5.3)
    3  reserved bits (5.2)
    4  reserved opcodes (5.2)
    5  fragmentation (5.4)
    6  UTF-8 (5.6, 8.1)
    7  the closing handshake (5.5.1, 7.1, 7.4)
    9  limits and bulk: messages up to 4 MiB, 1009 over the route's limit (7.4.1)
    10 the server's own timers and closes: pings to a silent client, the idle timeout, a
       failing handler, a server-initiated close, a flood
    12 permessage-deflate (RFC 7692): its negotiation (5, 7.1), compressed messages both ways
       (6, 7.2), RSV1 misplaced, data that does not inflate, limits on the inflated size

Every frame the server sends is checked on the way in (unmasked, RSV 0 or, with
permessage-deflate, RSV1 on a message's first frame only, a known opcode, a control frame short
and unfragmented, the length in its shortest form, a close code that may be sent and a UTF-8
reason, text that is UTF-8, a compressed message that inflates on its own). Every close is
checked for its exact code and for the server then closing the TCP connection. Every socket
operation and every wait is bounded (TIMEOUT seconds).

    ws_conformance_test.py WSAPP_BINARY [unittest options]
"""
import base64
import hashlib
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from served import Served  # noqa: E402  (tests/lib)

APP = sys.argv.pop(1) if len(sys.argv) > 1 else None
TIMEOUT = 10.0  # seconds, for every socket operation and every wait
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # section 1.3

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
OP_NAMES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
RSV1, RSV2, RSV3 = 4, 2, 1  # as the 3-bit field frame(rsv=...) takes

MiB = 1 << 20
SERVER = None  # the wsapp instance (setUpModule)


# ------------------------------------------------------------------------------------------------
# Frames
# ------------------------------------------------------------------------------------------------

def accept_key(key):
    """Sec-WebSocket-Accept for key (section 4.2.2 /5/ 4): base64(SHA-1(key + GUID))."""
    k = key.encode() if isinstance(key, str) else key
    return base64.b64encode(hashlib.sha1(k + GUID).digest()).decode()


def new_key():
    """A Sec-WebSocket-Key: 16 random bytes in base64 (section 4.1)."""
    return base64.b64encode(os.urandom(16)).decode()


def mask_bytes(data, key):
    """data XOR the 4-byte masking key repeated (section 5.3); fast for megabytes."""
    n = len(data)
    if n == 0:
        return b""
    m = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big")


def frame(opcode, payload=b"", fin=True, rsv=0, masked=True, key=None, length=None):
    """One frame as a client sends it (section 5.2): masked with a random key unless told not
    to; length overrides the length announced (the payload is sent as given)."""
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    mbit = 0x80 if masked else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4) if key is None else key
    return head + key + mask_bytes(payload, key)


def close_payload(code, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


def fragments(opcode, data, size):
    """data as a fragmented message (section 5.4): opcode then continuations, size bytes each."""
    parts = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    out = []
    for i, p in enumerate(parts):
        out.append(frame(opcode if i == 0 else OP_CONT, p, fin=i == len(parts) - 1))
    return b"".join(out)


def ascii_payload(n):
    """n bytes of printable ASCII, varying, so that a misplaced byte shows."""
    return (bytes(range(33, 127)) * (n // 94 + 1))[:n]


def utf8_valid(b):
    try:
        b.decode("utf-8", "strict")  # rejects overlongs, surrogates and > U+10FFFF, as RFC 3629
        return True
    except UnicodeDecodeError:
        return False


# permessage-deflate (RFC 7692) ------------------------------------------------------------------

DEFLATE_TAIL = b"\x00\x00\xff\xff"  # an empty stored block's LEN and NLEN (RFC 7692 7.2.1, 7.2.2)
DEFLATE_ANSWER = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"


def deflate_answer(bits=None):
    """The server's exact Sec-WebSocket-Extensions answer: no context takeover either way
    (RFC 7692 7.1.1.1, 7.1.1.2), and the server_max_window_bits offered echoed (7.1.2.1)."""
    return DEFLATE_ANSWER + (f"; server_max_window_bits={bits}" if bits is not None else "")


def answered_bits(answer):
    """The server's window bits an extension answer leaves it (RFC 7692 7.1.2.1): 15 unless
    server_max_window_bits=N."""
    m = re.search(r"server_max_window_bits=(\d+)", answer)
    return int(m.group(1)) if m else 15


def deflate(data, wbits=15, level=-1, zdict=None, tail=False):
    """data compressed as RFC 7692 7.2.1 has a sender do it without context takeover: a fresh
    raw DEFLATE stream, flushed (its blocks end with an empty stored block), that block's
    00 00 ff ff removed unless tail. zdict: a window primed as if by earlier messages."""
    if isinstance(data, str):
        data = data.encode()
    args = (level, zlib.DEFLATED, -wbits) + ((zlib.DEF_MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, zdict)
                                              if zdict is not None else ())
    c = zlib.compressobj(*args)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(DEFLATE_TAIL)
    return out if tail else out[:-4]


def deflate_final(data):
    """data compressed in a stream that ends with a final block (BFINAL=1, RFC 1951 3.2.3),
    nothing after it."""
    c = zlib.compressobj(-1, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH)


def inflate_server_message(payload, wbits):
    """A server's compressed message inflated as RFC 7692 7.2.2 has a receiver do it: 00 00 ff ff
    appended, then a fresh inflater (server_no_context_takeover was answered: each message on its
    own, 7.1.1.1) with the window the server may use (2^wbits, 7.1.2.1)."""
    assert not payload.endswith(DEFLATE_TAIL), \
        "server compressed message ends with 00 00 ff ff (RFC 7692 7.2.1: the sender removes it)"
    d = zlib.decompressobj(wbits=-wbits)
    try:
        out = d.decompress(payload + DEFLATE_TAIL)
    except zlib.error as e:
        raise AssertionError(f"server compressed message of {len(payload)} bytes does not inflate "
                             f"on its own with a {wbits}-bit window (RFC 7692 7.1.1.1, 7.1.2.1, "
                             f"7.2.2): {e}") from None
    if d.eof:  # a final block (7.2.3.4): at most the one octet of 7.2.1's empty block after it
        assert d.unused_data in (DEFLATE_TAIL, b"\x00" + DEFLATE_TAIL), \
            f"server compressed message has bytes after its final block: {d.unused_data[:-4]!r}"
    return out


def compressed_message(opcode, data=b"", size=None, payload=None):
    """A compressed message as a client sends it (RFC 7692 6): RSV1 on its first frame only,
    deflate(data) (or payload as given) in frames of size bytes (one frame when None)."""
    p = deflate(data) if payload is None else payload
    if size is None:
        return frame(opcode, p, rsv=RSV1)
    parts = [p[i:i + size] for i in range(0, len(p), size)] or [b""]
    return b"".join(frame(opcode if i == 0 else OP_CONT, q, fin=i == len(parts) - 1,
                          rsv=RSV1 if i == 0 else 0) for i, q in enumerate(parts))


def word_text(n, seed=7692):
    """n bytes of words from a 1500-word vocabulary: compressible with any window (letters), but
    compressed with a bigger window it refers back further than a smaller one reaches."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))
             for _ in range(1500)]
    out, size = [], 0
    while size < n:
        w = rng.choice(words) + " "
        out.append(w)
        size += len(w)
    return "".join(out)[:n].encode()


# The close codes an endpoint may send (section 7.4.1, 7.4.2; 1012-1014 were registered with
# IANA since, section 11.7): anything else in a server's close frame is wrong.
def code_sendable(code):
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "payload")

    def __init__(self, fin, rsv, opcode, payload):
        self.fin, self.rsv, self.opcode, self.payload = fin, rsv, opcode, payload

    def close_code(self):
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    def __repr__(self):
        name = OP_NAMES.get(self.opcode, f"opcode {self.opcode:#x}")
        if self.opcode == OP_CLOSE:
            if len(self.payload) >= 2:
                return f"<close {self.close_code()} {self.payload[2:]!r}>"
            return f"<close {self.payload!r}>"
        p = self.payload
        shown = repr(p[:40]) + ("..." if len(p) > 40 else "")
        return f"<{name}{'' if self.fin else ' (not FIN)'} {len(p)} bytes {shown}>"


class ServerGone(AssertionError):
    """The server closed (or reset) the TCP connection where a frame was expected."""


def describe_mismatch(got, want):
    if len(got) != len(want):
        return f"{len(got)} bytes instead of {len(want)}"
    i = next(i for i in range(len(got)) if got[i] != want[i])
    return f"same length ({len(got)}), first difference at byte {i}: {got[i:i + 8]!r} vs {want[i:i + 8]!r}"


class WS:
    """A client's side of an open WebSocket connection: sends what it is given, reads and checks
    the server's frames. deflate_bits: permessage-deflate was negotiated, the server's window
    being 2^deflate_bits (RFC 7692 7.1.2.1); None: no extension, RSV bits all 0."""

    def __init__(self, sock, rest=b"", deflate_bits=None):
        self.sock = sock
        self.buf = bytearray(rest)
        self.deflate_bits = deflate_bits
        self.compressed = None  # whether the last message recv_message returned came with RSV1
        self.wire_length = None  # and its payload's length as sent (compressed or not)

    # sending ------------------------------------------------------------------------------

    def send(self, data, tolerate_close=False):
        """Sends data. tolerate_close: the server may rightly have closed the connection before
        taking it all (it failed the connection on an earlier byte): the error is ignored."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            if not tolerate_close:
                raise

    def send_chunks(self, data, size, tolerate_close=False):
        """data in writes of size bytes (TCP_NODELAY: each write its own segment)."""
        try:
            for i in range(0, len(data), size):
                self.sock.sendall(data[i:i + size])
        except (BrokenPipeError, ConnectionResetError):
            if not tolerate_close:
                raise

    def send_bytewise(self, data, tolerate_close=False):
        self.send_chunks(data, 1, tolerate_close)

    def send_frames(self, frames, how):
        """frames (bytes each) sent as how says: "one write", "frame by frame" (a write each)
        or "byte by byte"."""
        if how == "one write":
            self.send(b"".join(frames))
        elif how == "frame by frame":
            for f in frames:
                self.send(f)
        else:
            self.send_bytewise(b"".join(frames))

    def send_frame(self, opcode, payload=b"", **kw):
        self.send(frame(opcode, payload, **kw))

    def text(self, s):
        self.send_frame(OP_TEXT, s.encode() if isinstance(s, str) else s)

    # receiving ----------------------------------------------------------------------------

    def _need(self, n, deadline, what, timeout):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out ({timeout} s) waiting for {what} "
                                     f"(had {len(self.buf)} of {n} bytes)")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(max(65536, min(n - len(self.buf), 8 * MiB)))
            except socket.timeout:
                continue  # the deadline check above reports it
            except ConnectionResetError:
                raise ServerGone(f"the server reset the connection while {what} was expected "
                                 f"(had {len(self.buf)} of {n} bytes)") from None
            finally:
                self.sock.settimeout(TIMEOUT)
            if not chunk:
                raise ServerGone(f"the server closed the TCP connection while {what} was "
                                 f"expected (had {len(self.buf)} of {n} bytes)")
            self.buf += chunk

    def recv_frame(self, timeout=TIMEOUT, what="a frame"):
        """The server's next frame, checked against what a server may send."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline, what, timeout)
        b0, b1 = self.buf[0], self.buf[1]
        fin, rsv, op = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F
        masked, n, h = bool(b1 & 0x80), b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline, what, timeout)
            n, h = struct.unpack_from("!H", self.buf, 2)[0], 4
            assert n >= 126, f"server frame: length {n} in the 16-bit form (5.2: minimal form)"
        elif n == 127:
            self._need(10, deadline, what, timeout)
            n, h = struct.unpack_from("!Q", self.buf, 2)[0], 10
            assert n >> 63 == 0, "server frame: 64-bit length with its top bit set (5.2)"
            assert n >= 65536, f"server frame: length {n} in the 64-bit form (5.2: minimal form)"
        assert not masked, "server frame is masked (5.1: a server MUST NOT mask)"
        if self.deflate_bits is None:
            assert rsv == 0, \
                f"server frame has RSV bits {rsv:#05b} set, no extension negotiated (5.2)"
        else:
            assert rsv & (RSV2 | RSV3) == 0, f"server frame has RSV bits {rsv:#05b} set: " \
                "permessage-deflate defines RSV1 only (5.2, RFC 7692 6)"
        assert op in OP_NAMES, f"server frame with reserved opcode {op:#x} (5.2)"
        if rsv & RSV1:
            assert op in (OP_TEXT, OP_BINARY), f"server set RSV1 on a {OP_NAMES[op]} frame " \
                "(RFC 7692 6: never on a control frame nor on a message's later fragments)"
        if op >= 8:
            assert fin, f"server sent a fragmented control frame, opcode {op:#x} (5.5)"
            assert n <= 125, f"server sent a control frame of {n} bytes (5.5: at most 125)"
        self._need(h + n, deadline, what, timeout)
        payload = bytes(self.buf[h:h + n])
        del self.buf[:h + n]
        f = Frame(fin, rsv, op, payload)
        if op == OP_CLOSE:
            assert n != 1, "server close frame with a 1-byte payload (5.5.1)"
            if n >= 2:
                code = f.close_code()
                assert code_sendable(code), f"server close frame with code {code}, which may " \
                                            "not be sent (7.4.1, 7.4.2)"
                assert utf8_valid(payload[2:]), f"server close reason not UTF-8 (5.5.1): {f!r}"
        return f

    def recv_message(self, timeout=TIMEOUT):
        """The server's next message (its frames reassembled, inflated when its first frame has
        RSV1: self.compressed says which): (opcode, data). Any other frame first is an error."""
        f = self.recv_frame(timeout, "a message")
        if f.opcode not in (OP_TEXT, OP_BINARY):
            raise AssertionError(f"expected a message, got {f!r}")
        op, parts, compressed = f.opcode, [f.payload], bool(f.rsv & RSV1)
        while not f.fin:
            f = self.recv_frame(timeout, "a continuation")
            if f.opcode != OP_CONT:
                raise AssertionError(f"expected the message's continuation, got {f!r} (5.4)")
            parts.append(f.payload)
        data = b"".join(parts)
        self.compressed, self.wire_length = compressed, len(data)
        if compressed:
            data = inflate_server_message(data, self.deflate_bits)
        if op == OP_TEXT:
            assert utf8_valid(data), "server sent a text message that is not UTF-8 (5.6)"
        return op, data

    def expect_message(self, opcode, data, timeout=TIMEOUT, compressed=None):
        """The server's next message is data; compressed: True or False, it came with RSV1 set
        or clear (RFC 7692 6)."""
        if isinstance(data, str):
            data = data.encode()
        op, got = self.recv_message(timeout)
        if op != opcode:
            raise AssertionError(f"expected a {OP_NAMES[opcode]} message, got a "
                                 f"{OP_NAMES[op]} one of {len(got)} bytes")
        if got != data:
            raise AssertionError(f"echoed {OP_NAMES[opcode]} message differs: "
                                 + describe_mismatch(got, data))
        if compressed is not None and self.compressed != compressed:
            how = "compressed" if self.compressed else "uncompressed"
            raise AssertionError(f"the {OP_NAMES[opcode]} message of {len(data)} bytes came "
                                 f"{how} ({self.wire_length} bytes on the wire), expected "
                                 f"{'compressed' if compressed else 'uncompressed'} (RFC 7692 6)")

    def expect_pong(self, payload):
        f = self.recv_frame(what="a pong")
        if f.opcode != OP_PONG:
            raise AssertionError(f"expected a pong with {payload[:40]!r}, got {f!r} (5.5.2)")
        if f.payload != payload:
            raise AssertionError(f"pong payload {f.payload!r} differs from the ping's "
                                 f"{payload!r} (5.5.3: identical Application data)")

    def expect_close(self, code, reason=None, reply=False, allow_reset=False):
        """The server's next frame is a close with code (and reason, when given); then, after our
        answer when reply (the closing handshake it started), it closes the TCP connection and
        sends nothing more."""
        f = self.recv_frame(what=f"a close frame with code {code}")
        if f.opcode != OP_CLOSE:
            raise AssertionError(f"expected a close frame with code {code}, got {f!r}")
        if f.close_code() != code:
            raise AssertionError(f"expected close code {code}, the server sent {f!r}")
        if reason is not None and f.payload[2:] != reason.encode():
            raise AssertionError(f"expected close reason {reason!r}, got {f!r}")
        if reply:
            self.send(frame(OP_CLOSE, f.payload[:2]), tolerate_close=True)
        self.expect_eof(allow_reset)
        return f

    def expect_eof(self, allow_reset=False):
        """Nothing more from the server: it closes the TCP connection within TIMEOUT (7.1.1:
        the server closes first). allow_reset: a reset counts too (the test left bytes the
        server was right not to read, which makes the kernel reset rather than end)."""
        if self.buf:
            raise AssertionError(f"the server sent {len(self.buf)} bytes after its close frame "
                                 f"(5.5.1: the close frame is its last): {bytes(self.buf[:40])!r}")
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the server did not close the TCP connection within "
                                     f"{TIMEOUT} s of the closing handshake (7.1.1)")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                if allow_reset:
                    return
                raise AssertionError("the server reset the connection instead of closing it "
                                     "after the closing handshake") from None
            finally:
                self.sock.settimeout(TIMEOUT)
            if not chunk:
                return
            raise AssertionError(f"the server sent {len(chunk)} bytes after its close frame "
                                 f"(5.5.1: the close frame is its last): {chunk[:40]!r}")

    def close_normally(self):
        """The client's closing handshake with 1000: echoed, then the TCP connection closed."""
        self.send_frame(OP_CLOSE, close_payload(1000))
        self.expect_close(1000)


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------

class Server(Served):
    """One wsapp serving on a free port; its log lines drained (a full pipe would block it)."""

    def __init__(self, *args):
        super().__init__([APP, "serve", "--port", "0", "--workers", "1", *args])

    def stop(self):
        super().stop(timeout=TIMEOUT)

def setUpModule():
    global SERVER
    if not APP:
        raise unittest.SkipTest("usage: ws_conformance_test.py WSAPP_BINARY")
    SERVER = Server()


def tearDownModule():
    if SERVER:
        SERVER.stop()


class Response:
    def __init__(self, status, headers, body, sock, rest, key):
        self.status, self.headers, self.body = status, headers, body
        self.sock, self.rest, self.key = sock, rest, key

    def values(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def tokens(self, name):
        return [t.strip().lower() for v in self.values(name) for t in v.split(",") if t.strip()]

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:200]!r}>"


def read_response(sock, key, method="GET"):
    """The server's answer to a handshake: its head parsed; for a 101 the bytes after the head
    are the first frames', else the body (Content-Length) is read."""
    deadline = time.monotonic() + TIMEOUT
    data = b""
    while b"\r\n\r\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no complete response head within {TIMEOUT} s: {data[:200]!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        finally:
            sock.settimeout(TIMEOUT)
        if not chunk:
            raise AssertionError(f"connection closed before a complete response head: {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})( .*)?$", lines[0])
    assert m, f"bad status line {lines[0]!r}"
    status = int(m.group(1))
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    body = b""
    if status != 101 and method != "HEAD":
        cl = [int(v) for n, v in headers if n == "content-length"]
        want = cl[0] if cl else 0
        body = rest
        while len(body) < want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"incomplete body within {TIMEOUT} s")
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            finally:
                sock.settimeout(TIMEOUT)
            if not chunk:
                break
            body += chunk
        rest = b""
    return Response(status, headers, body, sock, rest, key)


def open_socket(server=None):
    s = socket.create_connection(("127.0.0.1", (server or SERVER).port), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(TIMEOUT)
    return s


def handshake_request(path, headers=(), key=None, http="HTTP/1.1", method="GET", extra=()):
    """A handshake as section 4.1 describes it; headers: (name, value) pairs replacing the
    defaults of that name (value None: left out), or added; extra: raw header lines added."""
    key = new_key() if key is None else key
    h = [["Host", f"127.0.0.1:{SERVER.port}"], ["Upgrade", "websocket"],
         ["Connection", "Upgrade"], ["Sec-WebSocket-Key", key], ["Sec-WebSocket-Version", "13"]]
    for name, value in headers:
        for item in h:
            if item[0].lower() == name.lower():
                item[1] = value
                break
        else:
            h.append([name, value])
    lines = [f"{method} {path} {http}"] + [f"{n}: {v}" for n, v in h if v is not None]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key


class Base(unittest.TestCase):
    maxDiff = 2000

    def setUp(self):
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        if SERVER.proc.poll() is not None:
            self.fail(f"the server exited ({SERVER.proc.returncode}):\n"
                      + "".join(SERVER.lines[-30:]))

    def handshake(self, path, headers=(), key=None, http="HTTP/1.1", method="GET", extra=(),
                  trailing=b""):
        """Sends a handshake (and trailing bytes in the same write) and reads the answer."""
        req, key = handshake_request(path, headers, key, http, method, extra)
        s = open_socket()
        self.socks.append(s)
        s.sendall(req + trailing)
        return read_response(s, key, method)

    def check_101(self, r, protocols=(), extensions=None):
        """r is an accepted handshake as section 4.2.2 /5/ words it (and as a client checks it,
        section 4.1); extensions: the one Sec-WebSocket-Extensions answer expected, exactly
        (None: none)."""
        self.assertEqual(r.status, 101, f"handshake refused: {r!r}")
        self.assertEqual([v.lower() for v in r.values("Upgrade")], ["websocket"],
                         "4.2.2: Upgrade: websocket")
        self.assertIn("upgrade", r.tokens("Connection"), "4.2.2: Connection: Upgrade")
        self.assertEqual(r.values("Sec-WebSocket-Accept"), [accept_key(r.key)],
                         "4.2.2: Sec-WebSocket-Accept = base64(SHA-1(key + GUID))")
        self.assertEqual(r.values("Content-Length") + r.values("Transfer-Encoding"), [],
                         "RFC 7230 3.3.1, 3.3.2: no Content-Length nor Transfer-Encoding in a 1xx")
        if extensions is None:
            self.assertEqual(r.values("Sec-WebSocket-Extensions"), [],
                             "no extension accepted, none may be answered (4.2.2, 9.1)")
        else:
            self.assertEqual(r.values("Sec-WebSocket-Extensions"), [extensions],
                             "the extension answer (4.2.2 /5/ 6, 9.1; RFC 7692 5, 7.1)")
        chosen = r.values("Sec-WebSocket-Protocol")
        if not protocols:
            self.assertEqual(chosen, [], "a subprotocol answered where none was offered (4.1)")
        else:
            self.assertLessEqual(len(chosen), 1, "more than one subprotocol answered")
            for c in chosen:
                self.assertIn(c, protocols, "a subprotocol answered that was not offered (4.1)")

    def connect(self, path="/ws/echo", headers=(), trailing=b"", protocols=(), extensions=None,
                extra=()):
        """An open connection; extensions: the extension answer expected (a permessage-deflate
        one makes the WS expect and inflate compressed messages)."""
        r = self.handshake(path, headers, trailing=trailing, extra=extra)
        self.check_101(r, protocols, extensions)
        return WS(r.sock, r.rest, None if extensions is None else answered_bits(extensions))

    def connect_deflate(self, path="/ws/echo", offer="permessage-deflate", bits=None,
                        trailing=b""):
        """A connection with permessage-deflate offered (offer) and answered (deflate_answer)."""
        return self.connect(path, [("Sec-WebSocket-Extensions", offer)], trailing,
                            extensions=deflate_answer(bits))

    def echo(self, ws, opcode, payload):
        ws.send_frame(opcode, payload)
        ws.expect_message(opcode, payload)


# ------------------------------------------------------------------------------------------------
# 0. The opening handshake
# ------------------------------------------------------------------------------------------------

class G0Handshake(Base):
    def test_accept_key_of_the_rfc_example(self):
        """Section 1.3's example: the key and the accept value it gives."""
        self.assertEqual(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        r = self.handshake("/ws/echo", key="dGhlIHNhbXBsZSBub25jZQ==")
        self.check_101(r)
        self.assertEqual(r.values("Sec-WebSocket-Accept"), ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
        ws = WS(r.sock, r.rest)
        self.echo(ws, OP_TEXT, b"hello")
        ws.close_normally()

    def test_correct_handshake(self):
        for _ in range(5):  # random keys
            ws = self.connect()
            self.echo(ws, OP_TEXT, "hi")
            ws.close_normally()

    def test_header_values_are_case_insensitive(self):
        """4.2.1: Upgrade is matched case-insensitively, Connection includes the token
        Upgrade (case-insensitive, among others); header names are case-insensitive (RFC 7230)."""
        variants = [
            [("Upgrade", "WebSocket")],
            [("Upgrade", "WEBSOCKET"), ("Connection", "upgrade")],
            [("Connection", "keep-alive, Upgrade")],
            [("Connection", "Upgrade, keep-alive")],
            [("Connection", "keep-alive,upgrade")],
        ]
        for hs in variants:
            with self.subTest(headers=hs):
                ws = self.connect(headers=hs)
                self.echo(ws, OP_TEXT, "x")
                ws.close_normally()
        with self.subTest("lower-case header names"):
            key = new_key()
            s = open_socket()
            self.socks.append(s)
            s.sendall((f"GET /ws/echo HTTP/1.1\r\nhost: 127.0.0.1:{SERVER.port}\r\n"
                       f"upgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: {key}\r\n"
                       f"sec-websocket-version: 13\r\n\r\n").encode())
            r = read_response(s, key)
            self.check_101(r)
            WS(r.sock, r.rest).close_normally()

    def test_plain_get_to_a_websocket_route_is_426(self):
        """A GET without the upgrade: 426 Upgrade Required, which must say what to upgrade to
        (RFC 7231 6.5.15: an Upgrade header)."""
        r = self.handshake("/ws/echo", headers=[("Upgrade", None), ("Connection", None),
                                                ("Sec-WebSocket-Key", None),
                                                ("Sec-WebSocket-Version", None)])
        self.assertEqual(r.status, 426, r)
        self.assertEqual([v.lower() for v in r.values("Upgrade")], ["websocket"], r)
        r = self.handshake("/ws/echo", headers=[("Upgrade", None)])  # the rest of a handshake
        self.assertEqual(r.status, 426, r)
        self.assertEqual([v.lower() for v in r.values("Upgrade")], ["websocket"], r)
        r = self.handshake("/ws/echo", headers=[("Upgrade", "h2c")])
        self.assertEqual(r.status, 426, r)

    def test_plain_route_still_serves(self):
        s = open_socket()
        self.socks.append(s)
        s.sendall(f"GET /plain HTTP/1.1\r\nHost: 127.0.0.1:{SERVER.port}\r\n\r\n".encode())
        r = read_response(s, "")
        self.assertEqual((r.status, r.body), (200, b"plain\n"))

    def test_other_version_is_426_with_the_version_supported(self):
        """4.4: a version the server does not speak: the handshake is refused (426) with
        Sec-WebSocket-Version naming the versions it does (13)."""
        for v in ("8", "12", "14", "13, 8"):
            with self.subTest(version=v):
                r = self.handshake("/ws/echo", headers=[("Sec-WebSocket-Version", v)])
                self.assertEqual(r.status, 426, r)
                self.assertIn("13", [t for t in r.tokens("Sec-WebSocket-Version")], r)

    def test_missing_version_is_refused(self):
        """4.2.1 /6/: Sec-WebSocket-Version 13 is required; without it, no upgrade."""
        r = self.handshake("/ws/echo", headers=[("Sec-WebSocket-Version", None)])
        self.assertIn(r.status, (400, 426), r)

    def test_bad_keys_are_400(self):
        """4.2.1 /5/: a Sec-WebSocket-Key that, base64-decoded, is 16 bytes; 11.3.1: sent once."""
        bad = {
            "missing": None,
            "empty": "",
            "15 bytes": base64.b64encode(b"x" * 15).decode(),
            "17 bytes": base64.b64encode(b"x" * 17).decode(),
            "18 bytes (24 chars, no padding)": base64.b64encode(b"x" * 18).decode(),
            "not base64": "!!!!!!!!!!!!!!!!!!!!!!==",
            "not base64 (spaces)": "dGhlIHNhbXBsZ SBub25jZQ==",
            "32 bytes": base64.b64encode(b"y" * 32).decode(),
        }
        for what, key in bad.items():
            with self.subTest(key=what):
                r = self.handshake("/ws/echo", headers=[("Sec-WebSocket-Key", key)])
                self.assertEqual(r.status, 400, r)
        with self.subTest(key="sent twice"):
            r = self.handshake("/ws/echo", extra=[f"Sec-WebSocket-Key: {new_key()}"])
            self.assertEqual(r.status, 400, r)

    def test_connection_without_upgrade_is_400(self):
        """4.2.1 /4/: Connection must include Upgrade."""
        for v in (None, "keep-alive", "close", "upgraded"):
            with self.subTest(connection=v):
                r = self.handshake("/ws/echo", headers=[("Connection", v)])
                self.assertEqual(r.status, 400, r)

    def test_http_1_0_is_400(self):
        """4.2.1 /1/: an HTTP/1.1 or higher GET request."""
        r = self.handshake("/ws/echo", http="HTTP/1.0")
        self.assertEqual(r.status, 400, r)

    def test_not_a_get_is_refused(self):
        """4.2.1 /1/: a GET; anything else is not upgraded."""
        r = self.handshake("/ws/echo", method="POST", headers=[("Content-Length", "0")])
        self.assertTrue(400 <= r.status < 500, r)

    def test_missing_host_is_400(self):
        """4.2.1 /2/: a Host header field; RFC 7230 5.4: an HTTP/1.1 request without Host is
        answered 400."""
        r = self.handshake("/ws/echo", headers=[("Host", None)])
        self.assertEqual(r.status, 400, r)

    def test_frames_in_the_handshake_packet_are_answered(self):
        """The client may send frames right after its handshake (4.1: once the handshake is
        sent, it waits, but the bytes may be in flight together): they are the connection's."""
        trailing = (frame(OP_TEXT, "first") + frame(OP_PING, "p") +
                    frame(OP_BINARY, b"\x00\x01second"))
        ws = self.connect(trailing=trailing)
        ws.expect_message(OP_TEXT, "first")
        ws.expect_pong(b"p")
        ws.expect_message(OP_BINARY, b"\x00\x01second")
        ws.close_normally()

    def test_handshake_byte_by_byte(self):
        req, key = handshake_request("/ws/echo")
        s = open_socket()
        self.socks.append(s)
        for i in range(len(req)):
            s.sendall(req[i:i + 1])
        r = read_response(s, key)
        self.check_101(r)
        ws = WS(r.sock, r.rest)
        ws.send_bytewise(frame(OP_TEXT, "after a slow handshake"))
        ws.expect_message(OP_TEXT, "after a slow handshake")
        ws.close_normally()

    def test_upgrade_on_a_kept_alive_connection(self):
        """A handshake is an HTTP/1.1 request like another: on a connection that served one
        already (persistent, RFC 7230 6.3) it is upgraded as well."""
        s = open_socket()
        self.socks.append(s)
        s.sendall(f"GET /plain HTTP/1.1\r\nHost: 127.0.0.1:{SERVER.port}\r\n\r\n".encode())
        r = read_response(s, "")
        self.assertEqual((r.status, r.body), (200, b"plain\n"))
        req, key = handshake_request("/ws/echo")
        s.sendall(req)
        r = read_response(s, key)
        self.check_101(r)
        ws = WS(r.sock, r.rest)
        self.echo(ws, OP_TEXT, "upgraded")
        ws.close_normally()

    def test_handshake_and_close_in_one_packet(self):
        ws = self.connect(trailing=frame(OP_CLOSE, close_payload(1000)))
        ws.expect_close(1000)

    def test_extension_offered_is_negotiated(self):
        """9.1, 4.2.2 /5/ 6: the server answers with the extension it accepts, permessage-deflate
        (RFC 7692 5), and RSV1 then marks a compressed message (RFC 7692 6): its 7.2.3.1 example,
        "Hello" in one compressed block, is inflated and echoed (uncompressed: too short to
        gain); a message without RSV1 is still taken as it is."""
        ws = self.connect(headers=[("Sec-WebSocket-Extensions",
                                    "permessage-deflate; client_max_window_bits")],
                          extensions=DEFLATE_ANSWER)
        ws.send_frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=RSV1)
        ws.expect_message(OP_TEXT, "Hello", compressed=False)
        self.echo(ws, OP_TEXT, "plain")
        ws.close_normally()

    def test_extension_offered_to_a_route_without_compression(self):
        """/ws/plain does not compress (no_compression): the offer is not answered (9.1), so RSV1
        stays reserved and a frame with it fails the connection (5.2)."""
        for offer in ("permessage-deflate", "permessage-deflate; client_max_window_bits",
                      "permessage-deflate; server_max_window_bits=10"):
            with self.subTest(offer=offer):
                ws = self.connect("/ws/plain", headers=[("Sec-WebSocket-Extensions", offer)])
                self.echo(ws, OP_TEXT, ascii_payload(1000))  # RSV1 clear (check_101, recv_frame)
                ws.send_frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=RSV1)
                ws.expect_close(1002)

    def test_unknown_extension_is_not_answered(self):
        """9.1: an extension the server does not know is not answered, and the RSV bits stay
        reserved (5.2)."""
        for offer in ("x-unknown; foo=1", "x-webkit-deflate-frame", "deflate-frame",
                      "permessage-bzip2"):
            with self.subTest(offer=offer):
                ws = self.connect(headers=[("Sec-WebSocket-Extensions", offer)])
                self.echo(ws, OP_TEXT, ascii_payload(1000))
                ws.send_frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=RSV1)
                ws.expect_close(1002)

    def test_guarded_route(self):
        r = self.handshake("/ws/guarded")
        self.assertEqual(r.status, 403, r)
        r = self.handshake("/ws/guarded", headers=[("X-Allow", "no")])
        self.assertEqual(r.status, 403, r)
        ws = self.connect("/ws/guarded", headers=[("X-Allow", "yes"), ("X-User", "ann")])
        ws.expect_message(OP_TEXT, "hello ann")
        self.echo(ws, OP_TEXT, "after the guard")
        ws.close_normally()

    def test_origin_checks(self):
        r = self.handshake("/ws/origin", headers=[("Origin", "https://evil.example")])
        self.assertEqual(r.status, 403, r)
        r = self.handshake("/ws/origin", headers=[("Origin", "https://trusted.example.evil")])
        self.assertEqual(r.status, 403, r)
        r = self.handshake("/ws/origin", headers=[("Origin", "null")])
        self.assertEqual(r.status, 403, r)
        for origin in ("https://trusted.example", f"http://127.0.0.1:{SERVER.port}", None):
            with self.subTest(origin=origin):
                ws = self.connect("/ws/origin", headers=[("Origin", origin)] if origin else ())
                self.echo(ws, OP_TEXT, "ok")
                ws.close_normally()

    def test_subprotocols(self):
        """4.2.2 /5/ 5: the server picks one of those the client offers (here by its own
        preference, "v2.chat, chat"), or none and then sends no Sec-WebSocket-Protocol."""
        cases = [("chat", "chat"), ("v2.chat", "v2.chat"), ("chat, v2.chat", "v2.chat"),
                 ("foo, chat", "chat"), ("CHAT-not, chat", "chat")]
        for offer, chosen in cases:
            with self.subTest(offer=offer):
                offered = [p.strip() for p in offer.split(",")]
                r = self.handshake("/ws/proto", headers=[("Sec-WebSocket-Protocol", offer)])
                self.check_101(r, offered)
                self.assertEqual(r.values("Sec-WebSocket-Protocol"), [chosen], r)
                ws = WS(r.sock, r.rest)
                ws.expect_message(OP_TEXT, chosen)
                ws.close_normally()
        with self.subTest("offered in two header fields"):
            r = self.handshake("/ws/proto", headers=[("Sec-WebSocket-Protocol", "foo")],
                               extra=["Sec-WebSocket-Protocol: chat"])
            self.check_101(r, ["foo", "chat"])
            self.assertEqual(r.values("Sec-WebSocket-Protocol"), ["chat"], r)
            WS(r.sock, r.rest).expect_message(OP_TEXT, "chat")
        with self.subTest("none offered"):
            ws = self.connect("/ws/proto")  # check_101: no Sec-WebSocket-Protocol answered
            ws.expect_message(OP_TEXT, "none")
            ws.close_normally()
        with self.subTest("only unknown ones offered"):
            # The RFC allows refusing (any 4xx) or accepting without a subprotocol; what it
            # forbids is answering one the client did not offer.
            r = self.handshake("/ws/proto", headers=[("Sec-WebSocket-Protocol", "foo, bar")])
            if r.status == 101:
                self.check_101(r, ["foo", "bar"])
                self.assertEqual(r.values("Sec-WebSocket-Protocol"), [], r)
                WS(r.sock, r.rest).expect_message(OP_TEXT, "none")
            else:
                self.assertEqual(r.status, 400, r)


# ------------------------------------------------------------------------------------------------
# 1. Framing (5.2)
# ------------------------------------------------------------------------------------------------

SIZES = (0, 1, 125, 126, 127, 128, 65535, 65536)


class G1Framing(Base):
    def test_1_1_text_lengths(self):
        for n in SIZES:
            with self.subTest(length=n):
                ws = self.connect()
                self.echo(ws, OP_TEXT, ascii_payload(n))
                ws.close_normally()

    def test_1_2_binary_lengths(self):
        for n in SIZES:
            with self.subTest(length=n):
                ws = self.connect()
                self.echo(ws, OP_BINARY, os.urandom(n))
                ws.close_normally()

    def test_1_1_8_text_65536_in_chunks(self):
        ws = self.connect()
        p = ascii_payload(65536)
        ws.send_chunks(frame(OP_TEXT, p), 997)
        ws.expect_message(OP_TEXT, p)
        ws.close_normally()

    def test_1_2_8_binary_65536_in_chunks(self):
        ws = self.connect()
        p = os.urandom(65536)
        ws.send_chunks(frame(OP_BINARY, p), 997)
        ws.expect_message(OP_BINARY, p)
        ws.close_normally()

    def test_frames_byte_by_byte(self):
        """Each length form's header (2, 4 and 10 bytes, then the mask) and payload arriving a
        byte at a time."""
        for op, n in ((OP_TEXT, 0), (OP_TEXT, 125), (OP_BINARY, 126), (OP_TEXT, 300),
                      (OP_BINARY, 65536)):
            with self.subTest(opcode=op, length=n):
                ws = self.connect()
                p = ascii_payload(n)
                ws.send_bytewise(frame(op, p))
                ws.expect_message(op, p)
                ws.close_normally()

    def test_several_frames_in_one_write(self):
        ws = self.connect()
        msgs = [(OP_TEXT, b"one"), (OP_BINARY, os.urandom(300)), (OP_TEXT, b""),
                (OP_BINARY, os.urandom(70000)), (OP_TEXT, ascii_payload(126))]
        ws.send(b"".join(frame(op, p) for op, p in msgs))
        for op, p in msgs:
            ws.expect_message(op, p)
        ws.close_normally()

    def test_zero_masking_key(self):
        """5.3: the key is any 32-bit value, zero included (the frame is still masked)."""
        ws = self.connect()
        ws.send_frame(OP_TEXT, b"zero key", key=b"\0\0\0\0")
        ws.expect_message(OP_TEXT, b"zero key")
        ws.close_normally()

    def test_unmasked_client_frame_is_1002(self):
        """5.1: the server MUST close the connection on an unmasked frame (with 1002, 7.4.1)."""
        for op, p in ((OP_TEXT, b"unmasked"), (OP_BINARY, b""), (OP_PING, b"p"),
                      (OP_CLOSE, close_payload(1000))):
            with self.subTest(opcode=op):
                ws = self.connect()
                self.echo(ws, OP_TEXT, "masked first")
                ws.send(frame(op, p, masked=False))
                ws.expect_close(1002)

    def test_unmasked_frame_after_fragment(self):
        ws = self.connect()
        ws.send(frame(OP_TEXT, "frag", fin=False) + frame(OP_CONT, "ment", masked=False))
        ws.expect_close(1002)

    def test_64_bit_length_with_top_bit_set(self):
        """5.2: the 64-bit length's most significant bit MUST be 0: a frame announcing 2^63
        bytes or more is failed (1002, or 1009 as too big: either names the fault)."""
        ws = self.connect()
        head = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 63) + os.urandom(4)
        ws.send(head + b"abcd")
        f = ws.recv_frame(what="a close frame")
        self.assertEqual(f.opcode, OP_CLOSE, f)
        self.assertIn(f.close_code(), (1002, 1009), f)
        ws.expect_eof(allow_reset=True)


# ------------------------------------------------------------------------------------------------
# 2. Pings and pongs (5.5.2, 5.5.3)
# ------------------------------------------------------------------------------------------------

class G2PingPong(Base):
    def test_2_1_to_2_4_ping_answered_with_its_payload(self):
        for p in (b"", b"Hello, world!", bytes([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]),
                  os.urandom(125), b"\xff\xfe not utf-8 \x80"):
            with self.subTest(length=len(p)):
                ws = self.connect()
                ws.send_frame(OP_PING, p)
                ws.expect_pong(p)
                self.echo(ws, OP_TEXT, "still open")
                ws.close_normally()

    def test_2_5_ping_of_126_bytes_is_1002(self):
        """5.5: control frames carry at most 125 bytes."""
        ws = self.connect()
        ws.send_frame(OP_PING, b"x" * 126)
        ws.expect_close(1002)

    def test_2_5b_ping_with_64_bit_length_is_1002(self):
        ws = self.connect()
        p = b"y" * 65536
        ws.send(frame(OP_PING, p), tolerate_close=True)
        ws.expect_close(1002, allow_reset=True)

    def test_2_6_ping_125_bytes_byte_by_byte(self):
        ws = self.connect()
        p = os.urandom(125)
        ws.send_bytewise(frame(OP_PING, p))
        ws.expect_pong(p)
        ws.close_normally()

    def test_2_7_2_8_unsolicited_pong_ignored(self):
        """5.5.3: an unsolicited pong is allowed and needs no answer."""
        for p in (b"", b"unsolicited pong payload"):
            with self.subTest(payload=p):
                ws = self.connect()
                ws.send_frame(OP_PONG, p)
                self.echo(ws, OP_TEXT, "after the pong")  # the first frame back is the echo
                ws.close_normally()

    def test_2_9_unsolicited_pong_then_ping(self):
        ws = self.connect()
        ws.send(frame(OP_PONG, "unsolicited") + frame(OP_PING, "ping payload"))
        ws.expect_pong(b"ping payload")
        self.echo(ws, OP_TEXT, "x")
        ws.close_normally()

    def _ten_pings(self, send):
        """10 pings: each is answered, or (5.5.3) at least the last of those not yet answered;
        pongs come in order and carry their ping's payload."""
        ws = self.connect()
        pings = [f"payload-{i}".encode() for i in range(10)]
        send(ws, b"".join(frame(OP_PING, p) for p in pings) + frame(OP_TEXT, "done"))
        got = []
        while True:  # bounded: the server sends a finite number of frames or recv_frame times out
            f = ws.recv_frame(what="pongs and then the echo")
            if f.opcode == OP_TEXT:
                self.assertEqual(f.payload, b"done", f)
                break
            self.assertEqual(f.opcode, OP_PONG, f)
            got.append(f.payload)
            self.assertLessEqual(len(got), 10, "more pongs than pings")
        self.assertTrue(got and got[-1] == pings[-1], f"the last ping was not answered: {got}")
        it = iter(pings)
        self.assertTrue(all(g in it for g in got), f"pongs out of order or not pings': {got}")
        ws.close_normally()

    def test_2_10_ten_pings(self):
        self._ten_pings(lambda ws, data: ws.send(data))

    def test_2_11_ten_pings_byte_by_byte(self):
        self._ten_pings(lambda ws, data: ws.send_bytewise(data))

    def test_ping_in_a_fragmented_message_is_answered(self):
        """5.4: control frames may come between fragments; 5.5.2: a ping is answered (as soon
        as practical: before the message is complete)."""
        ws = self.connect()
        ws.send(frame(OP_TEXT, "frag", fin=False))
        ws.send_frame(OP_PING, "in the middle")
        ws.expect_pong(b"in the middle")  # before the message's end was even sent
        ws.send(frame(OP_CONT, "ment"))
        ws.expect_message(OP_TEXT, "fragment")
        ws.close_normally()


# ------------------------------------------------------------------------------------------------
# 3. Reserved bits (5.2: MUST be 0 unless an extension is negotiated; else fail)
# ------------------------------------------------------------------------------------------------

class G3ReservedBits(Base):
    def test_3_1_to_3_4_text_with_rsv(self):
        """A valid text (echoed), one with RSV bits set (fails the connection: 1002), a ping
        (never answered: nothing is read after the failing frame)."""
        for rsv in range(1, 8):
            for how in ("one write", "frame by frame", "byte by byte"):
                with self.subTest(rsv=f"{rsv:03b}", how=how):
                    ws = self.connect()
                    frames = [frame(OP_TEXT, "Hello, world!"),
                              frame(OP_TEXT, "Hello, world!", rsv=rsv), frame(OP_PING, "p")]
                    if how == "one write":
                        ws.send(b"".join(frames))
                    elif how == "frame by frame":
                        ws.send(frames[0])
                        ws.expect_message(OP_TEXT, "Hello, world!")
                        ws.send(frames[1] + frames[2], tolerate_close=True)
                    else:
                        ws.send_bytewise(b"".join(frames), tolerate_close=True)
                    if how != "frame by frame":
                        ws.expect_message(OP_TEXT, "Hello, world!")
                    ws.expect_close(1002, allow_reset=how == "byte by byte")

    def test_3_5_binary_with_rsv(self):
        ws = self.connect()
        ws.send_frame(OP_BINARY, os.urandom(256), rsv=RSV1 | RSV3)
        ws.expect_close(1002)

    def test_3_6_ping_with_rsv(self):
        ws = self.connect()
        ws.send_frame(OP_PING, b"ping", rsv=RSV2 | RSV3)
        ws.expect_close(1002)  # and no pong before it

    def test_3_7_close_with_rsv(self):
        ws = self.connect()
        ws.send_frame(OP_CLOSE, close_payload(1000), rsv=RSV1 | RSV2 | RSV3)
        ws.expect_close(1002)

    def test_rsv_on_a_continuation(self):
        ws = self.connect()
        ws.send(frame(OP_TEXT, "a", fin=False) + frame(OP_CONT, "b", rsv=RSV1))
        ws.expect_close(1002)


# ------------------------------------------------------------------------------------------------
# 4. Opcodes (5.2: reserved opcodes fail the connection)
# ------------------------------------------------------------------------------------------------

RESERVED_OPCODES = (0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF)


class G4Opcodes(Base):
    def test_4_x_1_reserved_opcode_alone(self):
        for op in RESERVED_OPCODES:
            with self.subTest(opcode=hex(op)):
                ws = self.connect()
                ws.send_frame(op)
                ws.expect_close(1002)

    def test_4_x_2_to_5_reserved_opcode_between_frames(self):
        """A text (echoed), a reserved opcode with a payload (1002), a ping (not answered)."""
        for op in RESERVED_OPCODES:
            for how in ("one write", "byte by byte"):
                with self.subTest(opcode=hex(op), how=how):
                    ws = self.connect()
                    data = (frame(OP_TEXT, "Hello, world!") + frame(op, "reserved opcode") +
                            frame(OP_PING, "p"))
                    if how == "one write":
                        ws.send(data)
                    else:
                        ws.send_bytewise(data, tolerate_close=True)
                    ws.expect_message(OP_TEXT, "Hello, world!")
                    ws.expect_close(1002, allow_reset=how == "byte by byte")

    def test_reserved_opcode_inside_a_fragmented_message(self):
        for op in (0x3, 0xB):
            with self.subTest(opcode=hex(op)):
                ws = self.connect()
                ws.send(frame(OP_TEXT, "frag", fin=False) + frame(op, "x", fin=False) +
                        frame(OP_CONT, "ment"))
                ws.expect_close(1002)


# ------------------------------------------------------------------------------------------------
# 5. Fragmentation (5.4)
# ------------------------------------------------------------------------------------------------

class G5Fragmentation(Base):
    def test_5_1_fragmented_ping_is_1002(self):
        """5.4/5.5: control frames MUST NOT be fragmented."""
        ws = self.connect()
        ws.send(frame(OP_PING, "frag", fin=False) + frame(OP_CONT, "ment"))
        ws.expect_close(1002)

    def test_5_2_fragmented_pong_is_1002(self):
        ws = self.connect()
        ws.send(frame(OP_PONG, "frag", fin=False) + frame(OP_CONT, "ment"))
        ws.expect_close(1002)

    def test_fragmented_close_is_1002(self):
        ws = self.connect()
        ws.send(frame(OP_CLOSE, close_payload(1000), fin=False) + frame(OP_CONT, b""))
        ws.expect_close(1002)

    def test_5_3_5_4_5_5_text_in_two_fragments(self):
        for how in ("one write", "frame by frame", "byte by byte"):
            with self.subTest(how=how):
                ws = self.connect()
                frames = [frame(OP_TEXT, "fragment1", fin=False), frame(OP_CONT, "fragment2")]
                ws.send_frames(frames, how)
                ws.expect_message(OP_TEXT, "fragment1fragment2")
                ws.close_normally()

    def test_binary_in_fragments(self):
        ws = self.connect()
        p = os.urandom(1000)
        ws.send(fragments(OP_BINARY, p, 333))
        ws.expect_message(OP_BINARY, p)
        ws.close_normally()

    def test_5_6_5_7_5_8_ping_between_fragments(self):
        for how in ("one write", "frame by frame", "byte by byte"):
            with self.subTest(how=how):
                ws = self.connect()
                frames = [frame(OP_TEXT, "fragment1", fin=False), frame(OP_PING, "ping payload"),
                          frame(OP_CONT, "fragment2")]
                ws.send_frames(frames, how)
                ws.expect_pong(b"ping payload")
                ws.expect_message(OP_TEXT, "fragment1fragment2")
                ws.close_normally()

    def test_pong_between_fragments(self):
        ws = self.connect()
        ws.send(frame(OP_TEXT, "fragment1", fin=False) + frame(OP_PONG, "unsolicited") +
                frame(OP_CONT, "fragment2"))
        ws.expect_message(OP_TEXT, "fragment1fragment2")
        ws.close_normally()

    def test_5_9_to_5_14_continuation_without_a_start_is_1002(self):
        cases = {
            "continuation FIN": [frame(OP_CONT, "fragment1")],
            "continuation not FIN": [frame(OP_CONT, "fragment1", fin=False)],
            "continuation not FIN, then FIN": [frame(OP_CONT, "fragment1", fin=False),
                                               frame(OP_CONT, "fragment2")],
            "empty continuation": [frame(OP_CONT, b"")],
        }
        for what, frames in cases.items():
            for how in ("one write", "byte by byte"):
                with self.subTest(case=what, how=how):
                    ws = self.connect()
                    data = b"".join(frames) + frame(OP_PING, "p")
                    if how == "one write":
                        ws.send(data)
                    else:
                        ws.send_bytewise(data, tolerate_close=True)
                    ws.expect_close(1002, allow_reset=how == "byte by byte")

    def test_5_15_continuation_after_a_complete_message_is_1002(self):
        ws = self.connect()
        ws.send(frame(OP_TEXT, "fragment1", fin=False) + frame(OP_CONT, "fragment2") +
                frame(OP_CONT, "fragment3", fin=False) + frame(OP_CONT, "fragment4"))
        ws.expect_message(OP_TEXT, "fragment1fragment2")
        ws.expect_close(1002)

    def test_5_16_5_17_continuations_out_of_place_repeated(self):
        for fin1 in (False, True):
            with self.subTest(first_continuation_fin=fin1):
                ws = self.connect()
                ws.send(frame(OP_CONT, "fragment1", fin=fin1) + frame(OP_CONT, "fragment2") +
                        frame(OP_TEXT, "fragment3", fin=False) + frame(OP_CONT, "fragment4"))
                ws.expect_close(1002)

    def test_5_18_new_message_inside_a_fragmented_one_is_1002(self):
        """5.4: the fragments of one message are not interleaved with another's."""
        for op2, fin2 in ((OP_TEXT, True), (OP_TEXT, False), (OP_BINARY, True)):
            with self.subTest(second=OP_NAMES[op2], fin=fin2):
                ws = self.connect()
                ws.send(frame(OP_TEXT, "fragment1", fin=False) + frame(op2, "fragment2", fin=fin2))
                ws.expect_close(1002)

    def test_5_19_5_20_pings_between_several_fragments(self):
        """Pings among 5 fragments, the rest sent only once the first pong came back."""
        ws = self.connect()
        ws.send(frame(OP_TEXT, "fragment1", fin=False) + frame(OP_CONT, "fragment2", fin=False) +
                frame(OP_PING, "pongme 1!"))
        ws.expect_pong(b"pongme 1!")
        ws.send(frame(OP_CONT, "fragment3", fin=False))
        ws.send(frame(OP_CONT, "fragment4", fin=False) + frame(OP_PING, "pongme 2!"))
        ws.expect_pong(b"pongme 2!")
        ws.send(frame(OP_CONT, "fragment5"))
        ws.expect_message(OP_TEXT, "fragment1fragment2fragment3fragment4fragment5")
        ws.close_normally()

    def test_many_tiny_fragments(self):
        ws = self.connect()
        p = ascii_payload(1000)
        ws.send(fragments(OP_TEXT, p, 1))
        ws.expect_message(OP_TEXT, p)
        p = os.urandom(2000)
        ws.send(fragments(OP_BINARY, p, 1))
        ws.expect_message(OP_BINARY, p)
        ws.close_normally()

    def test_empty_fragments(self):
        """6.1.2/6.1.3: fragments of length 0 are fragments like others."""
        ws = self.connect()
        ws.send(frame(OP_TEXT, b"", fin=False) + frame(OP_CONT, b"", fin=False) +
                frame(OP_CONT, b""))
        ws.expect_message(OP_TEXT, b"")
        ws.send(frame(OP_TEXT, b"", fin=False) + frame(OP_CONT, b"middle", fin=False) +
                frame(OP_CONT, b""))
        ws.expect_message(OP_TEXT, b"middle")
        ws.send(frame(OP_BINARY, b"", fin=False) + frame(OP_CONT, b""))
        ws.expect_message(OP_BINARY, b"")
        ws.close_normally()

    def test_message_type_is_the_first_fragments(self):
        ws = self.connect()
        ws.send(frame(OP_BINARY, b"\xff\xfe", fin=False) + frame(OP_CONT, b"\x80"))
        ws.expect_message(OP_BINARY, b"\xff\xfe\x80")
        ws.send(frame(OP_TEXT, b"te", fin=False) + frame(OP_CONT, b"xt"))
        ws.expect_message(OP_TEXT, b"text")
        ws.close_normally()


# ------------------------------------------------------------------------------------------------
# 6. UTF-8 (5.6: text is UTF-8; 8.1: invalid UTF-8 fails the connection, 1007 by 7.4.1)
# ------------------------------------------------------------------------------------------------

VALID_UTF8 = [
    "κόσμε".encode(),                                       # 6.2.x / 6.5.1
    "Hello-µ@ßöäüàá-UTF-8!!".encode(),                      # 6.2.1
    b"\x00", b"\x7f", b"\xc2\x80", b"\xdf\xbf",             # boundaries of each length
    b"\xe0\xa0\x80", b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbd",
    b"\xef\xbf\xbe", b"\xef\xbf\xbf",                       # noncharacters U+FFFE/U+FFFF: valid
    b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf",               # U+10000, U+10FFFF
    "𝄞 music, 😀 emoji, 中文, العربية".encode(),
]

INVALID_UTF8 = {
    "surrogate inside text (6.3.1)": b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
    "lone continuation 0x80": b"\x80",
    "lone continuation 0xbf": b"\xbf",
    "continuations": b"\x80\xbf\x80\xbf\x80",
    "lone start + space (2)": b"\xc0\x20",
    "lone start + space (3)": b"\xe0\x20",
    "lone start + space (4)": b"\xf0\x20",
    "5-byte start": b"\xf8\x88\x80\x80\x80",
    "6-byte start": b"\xfc\x84\x80\x80\x80\x80",
    "0xfe": b"\xfe",
    "0xff": b"\xff",
    "fe fe ff ff": b"\xfe\xfe\xff\xff",
    "overlong / (2)": b"\xc0\xaf",
    "overlong / (3)": b"\xe0\x80\xaf",
    "overlong / (4)": b"\xf0\x80\x80\xaf",
    "overlong / (5)": b"\xf8\x80\x80\x80\xaf",
    "overlong NUL": b"\xc0\x80",
    "overlong max 2 (c1 bf)": b"\xc1\xbf",
    "overlong max 3 (e0 9f bf)": b"\xe0\x9f\xbf",
    "overlong max 4 (f0 8f bf bf)": b"\xf0\x8f\xbf\xbf",
    "surrogate U+D800": b"\xed\xa0\x80",
    "surrogate U+DB7F": b"\xed\xad\xbf",
    "surrogate U+DBFF": b"\xed\xaf\xbf",
    "surrogate U+DC00": b"\xed\xb0\x80",
    "surrogate U+DFFF": b"\xed\xbf\xbf",
    "surrogate pair": b"\xed\xa0\x80\xed\xb0\x80",
    "U+110000": b"\xf4\x90\x80\x80",
    "f5 start": b"\xf5\x80\x80\x80",
    "U+1FFFFF": b"\xf7\xbf\xbf\xbf",
    "truncated 2-byte at the end": "κόσμ".encode() + b"\xce",
    "truncated 3-byte at the end": b"hello\xe2\x82",
    "truncated 4-byte at the end": b"hello\xf0\x9f\x98",
    "truncated in the middle": b"\xe2\x28\xa1",
    "bad 4th byte": b"\xf0\x9f\x98\x28",
}


class G6UTF8(Base):
    def test_vectors_are_what_they_say(self):
        """A check of this file's tables against Python's strict decoder."""
        for b in VALID_UTF8:
            self.assertTrue(utf8_valid(b), b)
        for what, b in INVALID_UTF8.items():
            self.assertFalse(utf8_valid(b), what)

    def test_6_2_valid_text_in_one_frame(self):
        ws = self.connect()
        for b in VALID_UTF8:
            with self.subTest(text=b):
                self.echo(ws, OP_TEXT, b)
        self.echo(ws, OP_TEXT, b"".join(VALID_UTF8))
        ws.close_normally()

    def test_6_2_valid_text_split_at_every_byte(self):
        """5.6/8.1: text is UTF-8 as a whole message; a fragment may end inside a character."""
        ws = self.connect()
        for b in VALID_UTF8 + ["Ü€😀𝄞κ".encode()]:
            for k in range(1, len(b)):
                with self.subTest(text=b, split=k):
                    ws.send(frame(OP_TEXT, b[:k], fin=False) + frame(OP_CONT, b[k:]))
                    ws.expect_message(OP_TEXT, b)
        ws.close_normally()

    def test_6_2_3_valid_text_one_byte_per_fragment(self):
        ws = self.connect()
        for b in VALID_UTF8:
            with self.subTest(text=b):
                ws.send(fragments(OP_TEXT, b, 1))
                ws.expect_message(OP_TEXT, b)
        ws.close_normally()

    def test_6_3_to_6_21_invalid_text_in_one_frame_is_1007(self):
        for what, b in INVALID_UTF8.items():
            with self.subTest(case=what):
                ws = self.connect()
                ws.send_frame(OP_TEXT, b)
                ws.expect_close(1007)

    def test_invalid_text_after_a_valid_one(self):
        ws = self.connect()
        ws.send(frame(OP_TEXT, "valid") + frame(OP_TEXT, b"\xed\xa0\x80"))
        ws.expect_message(OP_TEXT, "valid")
        ws.expect_close(1007)

    def test_6_3_2_invalid_text_one_byte_per_fragment_is_1007(self):
        for what, b in INVALID_UTF8.items():
            with self.subTest(case=what):
                ws = self.connect()
                ws.send(fragments(OP_TEXT, b, 1))
                ws.expect_close(1007, allow_reset=True)

    def test_invalid_in_an_early_fragment_is_1007(self):
        """8.1: the message is not UTF-8 however its later fragments are: the connection is
        failed (by the last fragment at the latest)."""
        ws = self.connect()
        ws.send(frame(OP_TEXT, "κόσμε", fin=False) + frame(OP_CONT, b"\xf4\x90\x80\x80", fin=False) +
                frame(OP_CONT, "edited"))
        ws.expect_close(1007, allow_reset=True)

    def test_6_4_fails_at_the_fragment_that_breaks_it(self):
        """Autobahn 6.4.1/6.4.2 (strict): the fragment that makes the message invalid fails the
        connection with 1007 at once, while the rest of the message has not been sent (8.1: it
        may never come). A fragment that ends with a sequence no byte could complete is already
        invalid (F4 90: past U+10FFFF; ED A0: a surrogate; C0: overlong)."""
        cases = [
            [b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", b"\xf4\x90\x80\x80"],
            [b"hello", b"\xf4\x90"],
            [b"\xed\xa0"],
            [b"ok \xc0"],
            [b"ok", b"", b"\xe2\x28"],
        ]
        for parts in cases:
            with self.subTest(parts=parts):
                ws = self.connect()
                ws.send(b"".join(frame(OP_TEXT if i == 0 else OP_CONT, p, fin=False)
                                 for i, p in enumerate(parts)))
                ws.expect_close(1007)

    def test_6_4_3_fails_inside_a_frame_before_its_end(self):
        """Autobahn 6.4.3/6.4.4 (strict): one text frame whose payload arrives in parts fails with
        1007 once the part that makes it invalid has come, while the rest of the frame is still
        unsent. The parts are cut at every phase of the mask (the bytes before the bad one are
        unmasked as they come)."""
        for lead in (b"", b"a", b"ab", b"abc", "κόσμε".encode(), b"x" * 4097):
            for bad in (b"\xf4\x90\x80\x80", b"\xed\xa0", b"\xc0", b"\xff"):
                with self.subTest(lead=len(lead), bad=bad):
                    ws = self.connect()
                    whole = frame(OP_TEXT, lead + bad + b"and more text that never comes")
                    ws.send(whole[:len(whole) - 30])
                    ws.expect_close(1007)

    def test_6_4_3_a_frame_in_many_parts_is_whole(self):
        """Valid text sent a byte at a time, characters cut at every place, is echoed intact:
        the parts unmasked as they came and the rest at the end make the payload."""
        ws = self.connect()
        for text in ("κόσμε Ü€😀𝄞 ascii " * 20).encode(), b"x" * 5 + "€".encode():
            with self.subTest(size=len(text)):
                ws.send_bytewise(frame(OP_TEXT, text))
                ws.expect_message(OP_TEXT, text)
                ws.send_frames([frame(OP_TEXT, text, fin=False), frame(OP_CONT, text)],
                               "byte by byte")
                ws.expect_message(OP_TEXT, text + text)
        ws.close_normally()

    def test_6_4_a_fragment_may_end_inside_a_character(self):
        """What could still become a character is not failed early: the connection stays open
        (a ping between the fragments is answered) and the message arrives whole."""
        for first, rest in [(b"abc\xe2\x82", b"\xac"), (b"\xf0", b"\x9f\x98\x80"),
                            (b"\xf4\x8f", b"\xbf\xbf"), (b"x\xed\x9f", b"\xbf")]:
            with self.subTest(first=first):
                ws = self.connect()
                ws.send(frame(OP_TEXT, first, fin=False) + frame(OP_PING, b"still open?"))
                ws.expect_pong(b"still open?")
                ws.send(frame(OP_CONT, rest))
                ws.expect_message(OP_TEXT, first + rest)
                ws.close_normally()

    def test_cut_short_in_the_last_fragment_is_1007(self):
        """A message whose last fragment ends inside a character (the earlier ones were fine)."""
        cases = [
            [b"\xce\xba\xe1\xbd\xb9", b"\xcf\x83\xce\xbc\xce"],   # κόσμ + half of ε
            [b"hello ", b"\xf0\x9f\x98"],                        # 3 of 😀's 4 bytes
            [b"\xf0\x9f", b"\x98"],                              # the same across fragments
            [b"abc\xe2", b"\x82"],
            [b"abc", b"", b"\xe2"],
        ]
        for parts in cases:
            with self.subTest(parts=parts):
                ws = self.connect()
                ws.send(b"".join(frame(OP_TEXT if i == 0 else OP_CONT, p, fin=i == len(parts) - 1)
                                 for i, p in enumerate(parts)))
                ws.expect_close(1007)

    def test_binary_is_not_checked(self):
        """5.6: binary data is the application's: invalid UTF-8 is echoed intact."""
        ws = self.connect()
        for b in INVALID_UTF8.values():
            self.echo(ws, OP_BINARY, b)
        ws.close_normally()


# ------------------------------------------------------------------------------------------------
# 7. The closing handshake (5.5.1, 7)
# ------------------------------------------------------------------------------------------------

INVALID_CLOSE_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)
VALID_CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000,
                     4999)


class G7Close(Base):
    def test_7_1_1_echo_then_close(self):
        ws = self.connect()
        self.echo(ws, OP_TEXT, "Hello World!")
        ws.send_frame(OP_CLOSE, close_payload(1000))
        ws.expect_close(1000)

    def test_7_3_1_close_without_payload(self):
        """5.5.1: a close must be answered with a close; with no code received, the answer
        here is 1000 (normal closure)."""
        ws = self.connect()
        ws.send_frame(OP_CLOSE, b"")
        ws.expect_close(1000)

    def test_7_3_2_close_with_one_byte_is_1002(self):
        """5.5.1: a close body starts with a 2-byte code: 1 byte is malformed."""
        ws = self.connect()
        ws.send_frame(OP_CLOSE, b"\x03")
        ws.expect_close(1002)

    def test_7_3_3_to_7_3_5_close_with_reason(self):
        """The code echoed (5.5.1: typically echoes the code it received), for reasons of every
        length up to the 123 bytes a control frame leaves (125 - 2)."""
        for reason in ("", "Hello World!", "κόσμε 😀", "r" * 123):
            with self.subTest(reason_length=len(reason.encode())):
                ws = self.connect()
                ws.send_frame(OP_CLOSE, close_payload(1000, reason))
                ws.expect_close(1000)  # its own reason, if any, is checked to be UTF-8

    def test_7_3_6_close_payload_over_125_is_1002(self):
        ws = self.connect()
        ws.send_frame(OP_CLOSE, close_payload(1000, "r" * 124))
        ws.expect_close(1002)

    def test_7_5_1_close_reason_not_utf8_is_1007(self):
        for reason in (b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
                       b"\xff", b"cut \xe2\x82"):
            with self.subTest(reason=reason):
                ws = self.connect()
                ws.send_frame(OP_CLOSE, close_payload(1000, reason))
                ws.expect_close(1007)

    def test_7_7_valid_codes_echoed(self):
        for code in VALID_CLOSE_CODES:
            with self.subTest(code=code):
                ws = self.connect()
                ws.send_frame(OP_CLOSE, close_payload(code))
                ws.expect_close(code)

    def test_7_9_7_13_invalid_codes_are_1002(self):
        """7.4.1/7.4.2: 0-999 unused, 1004-1006 and 1015 reserved (1005, 1006, 1015 MUST NOT
        be sent), 1016-2999 for future protocol use, over 4999 undefined: a close carrying one
        is a protocol error."""
        for code in INVALID_CLOSE_CODES:
            with self.subTest(code=code):
                ws = self.connect()
                ws.send_frame(OP_CLOSE, close_payload(code))
                ws.expect_close(1002)

    def test_7_1_2_close_twice(self):
        """Only one close back; the second is never answered."""
        ws = self.connect()
        ws.send(frame(OP_CLOSE, close_payload(1000)) + frame(OP_CLOSE, close_payload(1001)))
        ws.expect_close(1000, allow_reset=True)

    def test_7_1_3_ping_after_close_not_answered(self):
        """5.5.2: a ping is answered unless a close was received already."""
        ws = self.connect()
        ws.send(frame(OP_CLOSE, close_payload(1000)) + frame(OP_PING, "after close"))
        ws.expect_close(1000, allow_reset=True)

    def test_7_1_4_text_after_close_ignored(self):
        """1.4/5.5.1: after its close, the client sends nothing that counts; the server's close
        is its last frame (no echo after it)."""
        ws = self.connect()
        ws.send(frame(OP_CLOSE, close_payload(1000)) + frame(OP_TEXT, "after close") +
                frame(OP_BINARY, b"x" * 1000))
        ws.expect_close(1000, allow_reset=True)

    def test_data_after_close_sent_separately_is_ignored(self):
        ws = self.connect()
        ws.send_frame(OP_CLOSE, close_payload(1000))
        ws.send(frame(OP_TEXT, "late") + frame(OP_PING, "late"), tolerate_close=True)
        ws.expect_close(1000, allow_reset=True)

    def test_7_1_5_close_inside_a_fragmented_message(self):
        """A close between fragments ends the connection: the unfinished message is dropped."""
        ws = self.connect()
        ws.send(frame(OP_TEXT, "fragment1", fin=False) + frame(OP_CLOSE, close_payload(1000)) +
                frame(OP_CONT, "fragment2"))
        ws.expect_close(1000, allow_reset=True)

    def test_7_1_6_big_message_then_close_then_ping(self):
        ws = self.connect()
        p = ascii_payload(256 * 1024)
        ws.send(frame(OP_TEXT, p) + frame(OP_CLOSE, close_payload(1000)) + frame(OP_PING, "x"))
        ws.expect_message(OP_TEXT, p)
        ws.expect_close(1000, allow_reset=True)

    def test_close_then_half_close(self):
        """A client that sends its close and shuts its side down (FIN) still gets the close
        back (its read side is open), then the server closes."""
        ws = self.connect()
        ws.send_frame(OP_CLOSE, close_payload(1000, "bye"))
        ws.sock.shutdown(socket.SHUT_WR)
        ws.expect_close(1000)

    def test_close_byte_by_byte(self):
        ws = self.connect()
        ws.send_bytewise(frame(OP_CLOSE, close_payload(3000, "slowly")))
        ws.expect_close(3000)


# ------------------------------------------------------------------------------------------------
# 9. Limits and bulk
# ------------------------------------------------------------------------------------------------

def utf8_payload(n):
    """n bytes of multi-byte UTF-8 text (n a multiple of 16): é € 😀 and ASCII."""
    unit = "é€😀abcdefg".encode()
    assert len(unit) == 16 and n % 16 == 0
    return unit * (n // 16)


class G9Limits(Base):
    def test_9_1_text_one_frame(self):
        ws = self.connect()
        for n in (64 * 1024, 256 * 1024, MiB, 4 * MiB):
            with self.subTest(size=n):
                self.echo(ws, OP_TEXT, utf8_payload(n))
        ws.close_normally()

    def test_9_2_binary_one_frame(self):
        ws = self.connect()
        for n in (64 * 1024, 256 * 1024, MiB, 4 * MiB):
            with self.subTest(size=n):
                self.echo(ws, OP_BINARY, os.urandom(n))
        ws.close_normally()

    def test_9_3_text_fragmented(self):
        """4 MiB in fragments of 64 KiB, of 65535 bytes (fragments ending inside characters),
        of 1 KiB; 256 KiB in fragments of 64 bytes."""
        ws = self.connect()
        for total, size in ((4 * MiB, 65536), (4 * MiB, 65535), (4 * MiB, 1024),
                            (256 * 1024, 64)):
            with self.subTest(total=total, fragment=size):
                p = utf8_payload(total)
                ws.send(fragments(OP_TEXT, p, size))
                ws.expect_message(OP_TEXT, p)
        ws.close_normally()

    def test_9_4_binary_fragmented(self):
        ws = self.connect()
        for total, size in ((4 * MiB, 65536), (4 * MiB, 4096), (256 * 1024, 64)):
            with self.subTest(total=total, fragment=size):
                p = os.urandom(total)
                ws.send(fragments(OP_BINARY, p, size))
                ws.expect_message(OP_BINARY, p)
        ws.close_normally()

    def test_9_5_9_6_one_frame_in_small_writes(self):
        ws = self.connect()
        for op, size in ((OP_TEXT, 64), (OP_TEXT, 1000), (OP_BINARY, 4096)):
            with self.subTest(opcode=op, write=size):
                p = utf8_payload(MiB) if op == OP_TEXT else os.urandom(MiB)
                ws.send_chunks(frame(op, p), size)
                ws.expect_message(op, p)
        ws.close_normally()

    def test_9_7_9_8_many_small_messages(self):
        ws = self.connect()
        for i in range(1000):  # one at a time
            self.echo(ws, OP_TEXT if i % 2 else OP_BINARY, f"message {i:04d}".encode())
        msgs = [(OP_TEXT if i % 2 else OP_BINARY, f"pipelined {i:04d}".encode())
                for i in range(1000)]
        ws.send(b"".join(frame(op, p) for op, p in msgs))  # all at once
        for op, p in msgs:
            ws.expect_message(op, p)
        ws.close_normally()

    def test_full_duplex_big_messages(self):
        """Big messages sent back to back by one thread while the echoes are read by another:
        the server reads, reassembles and writes at once (flow control both ways), with pings
        inside a fragmented one."""
        ws = self.connect()
        msgs = [(OP_TEXT, utf8_payload(4 * MiB)), (OP_BINARY, os.urandom(4 * MiB)),
                (OP_TEXT, b"small"), (OP_BINARY, os.urandom(3 * MiB)),
                (OP_TEXT, utf8_payload(2 * MiB))]
        # the 4th in 64 KiB fragments, a ping after every 8th: each answered before its echo
        data = [frame(op, p) for op, p in msgs[:3]]
        pings = []
        chunks = [msgs[3][1][i:i + 65536] for i in range(0, len(msgs[3][1]), 65536)]
        for i, c in enumerate(chunks):
            data.append(frame(OP_BINARY if i == 0 else OP_CONT, c, fin=i == len(chunks) - 1))
            if i % 8 == 7 and i < len(chunks) - 1:
                pings.append(f"ping {i}".encode())
                data.append(frame(OP_PING, pings[-1]))
        data.append(frame(msgs[4][0], msgs[4][1]))
        sender = ws.sock.dup()
        self.socks.append(sender)
        errors = []

        def send():
            try:
                sender.sendall(b"".join(data))
            except OSError as e:
                errors.append(e)

        th = threading.Thread(target=send, daemon=True)
        th.start()
        ws.expect_message(*msgs[0])
        ws.expect_message(*msgs[1])
        ws.expect_message(*msgs[2])
        for p in pings:
            ws.expect_pong(p)
        ws.expect_message(*msgs[3])
        ws.expect_message(*msgs[4])
        th.join(TIMEOUT)
        self.assertFalse(th.is_alive() or errors, errors)
        self.assertTrue(pings, "the test sent no pings")
        ws.close_normally()

    def test_invalid_utf8_at_the_end_of_4_mib(self):
        p = utf8_payload(4 * MiB - 16) + b"abcdefghijklmno\xc0"
        for how, data in (("one frame", frame(OP_TEXT, p)),
                          ("64 KiB fragments", fragments(OP_TEXT, p, 65536))):
            with self.subTest(how=how):
                ws = self.connect()
                ws.send(data)
                ws.expect_close(1007)

    def test_message_at_the_limit_is_echoed(self):
        ws = self.connect("/ws/small")
        self.echo(ws, OP_TEXT, ascii_payload(1024))
        self.echo(ws, OP_BINARY, os.urandom(1024))
        p = ascii_payload(1024)
        ws.send(fragments(OP_TEXT, p, 100))
        ws.expect_message(OP_TEXT, p)
        ws.close_normally()

    def test_message_over_the_limit_is_1009(self):
        """7.4.1: 1009, a message too big to process (the route takes 1024 bytes)."""
        cases = {
            "text, one frame": frame(OP_TEXT, ascii_payload(1025)),
            "binary, one frame": frame(OP_BINARY, os.urandom(1025)),
            "text, 2 fragments": fragments(OP_TEXT, ascii_payload(1025), 600),
            "binary, 11 fragments": fragments(OP_BINARY, os.urandom(1025), 100),
            "text, 1025 fragments of 1 byte": fragments(OP_TEXT, ascii_payload(1025), 1),
            "binary, 1024 then an empty then 1": (frame(OP_BINARY, b"a" * 1024, fin=False) +
                                                  frame(OP_CONT, b"", fin=False) +
                                                  frame(OP_CONT, b"b")),
        }
        for what, data in cases.items():
            with self.subTest(case=what):
                ws = self.connect("/ws/small")
                self.echo(ws, OP_TEXT, "fits")
                ws.send(data, tolerate_close=True)
                ws.expect_close(1009, allow_reset=True)

    def test_4_mib_plus_one_is_1009(self):
        for what, data in (("one frame", frame(OP_BINARY, os.urandom(4 * MiB + 1))),
                           ("64 KiB fragments", fragments(OP_BINARY, os.urandom(4 * MiB + 1),
                                                          65536))):
            with self.subTest(case=what):
                ws = self.connect()
                ws.send(data, tolerate_close=True)
                ws.expect_close(1009, allow_reset=True)

    def test_huge_announced_length_is_1009_without_its_payload(self):
        """A frame announcing 1 TiB: the server cannot take it and closes with 1009 on the
        header alone (waiting for a terabyte is no answer)."""
        ws = self.connect()
        ws.send(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + os.urandom(4) + b"abc")
        ws.expect_close(1009, allow_reset=True)


# ------------------------------------------------------------------------------------------------
# 10. The server's own timers and closes (wsapp's routes)
# ------------------------------------------------------------------------------------------------

class G10ServerSide(Base):
    def test_server_initiated_close(self):
        """/ws/close answers, then starts the closing handshake (4000 "bye"); the client answers
        with a close (5.5.1) and the server then closes the TCP connection (7.1.1)."""
        ws = self.connect("/ws/close")
        ws.text("hello")
        ws.expect_message(OP_TEXT, "got 5 bytes")
        ws.expect_close(4000, reason="bye", reply=True)

    def test_server_initiated_close_data_before_the_answer(self):
        """After its close the server sends no data (5.5.1), whatever the client still sends."""
        ws = self.connect("/ws/close")
        ws.text("hello")
        ws.expect_message(OP_TEXT, "got 5 bytes")
        f = ws.recv_frame()
        self.assertEqual((f.opcode, f.close_code(), f.payload[2:]), (OP_CLOSE, 4000, b"bye"), f)
        ws.send(frame(OP_TEXT, "late") + frame(OP_CLOSE, close_payload(4000)),
                tolerate_close=True)
        ws.expect_eof(allow_reset=True)

    def test_failing_handler_closes_1011(self):
        ws = self.connect("/ws/broken")
        ws.expect_close(1011, reply=True)

    def test_server_pings_a_silent_client(self):
        """/ws/ping pings after 200 ms of silence; the pong (5.5.3: the ping's payload) keeps the
        connection; an unanswered ping closes it with 1011."""
        ws = self.connect("/ws/ping")
        f = ws.recv_frame(what="the server's ping")
        self.assertEqual(f.opcode, OP_PING, f)
        ws.send_frame(OP_PONG, f.payload)
        self.echo(ws, OP_TEXT, "still here")
        f = ws.recv_frame(what="the server's second ping")
        self.assertEqual(f.opcode, OP_PING, f)
        ws.expect_close(1011)  # no pong this time

    def test_idle_timeout_closes_1001(self):
        """/ws/idle: 300 ms without a message closes with 1001 (going away); pings, each sent
        when the last was answered, do not count as messages (bounded: the close must come
        within TIMEOUT)."""
        t0 = time.monotonic()
        ws = self.connect("/ws/idle")
        pings = 0
        while True:
            ws.send_frame(OP_PING, f"ping {pings}")
            f = ws.recv_frame(what="a pong or the close")
            if f.opcode == OP_CLOSE:
                self.assertEqual(f.close_code(), 1001, f)
                ws.expect_eof(allow_reset=True)  # our last ping may be unread
                break
            self.assertEqual((f.opcode, f.payload), (OP_PONG, f"ping {pings}".encode()), f)
            pings += 1
            self.assertLess(time.monotonic() - t0, TIMEOUT, "pings kept an idle socket open")
        self.assertGreaterEqual(time.monotonic() - t0, 0.25, "closed before its idle timeout")
        self.assertGreater(pings, 0)

    def test_messages_keep_an_idle_socket_open(self):
        """/ws/idle: a message every 50 ms or so (a 50 ms wait for anything unasked-for after
        each echo) keeps it open past its 300 ms."""
        ws = self.connect("/ws/idle")
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 1.0:  # bounded: 1 s of 50 ms turns
            ws.send_frame(OP_TEXT, f"message {i}")
            ws.expect_message(OP_TEXT, f"message {i}")
            ws.sock.settimeout(0.05)  # a 50 ms pause that also shows an early close
            try:
                early = ws.sock.recv(1, socket.MSG_PEEK)
            except socket.timeout:
                early = None
            finally:
                ws.sock.settimeout(TIMEOUT)
            if early is not None:
                self.fail(f"the server sent something while messages kept coming: "
                          f"{ws.recv_frame()!r}")
            i += 1
        ws.close_normally()

    def test_many_connections_interleaved(self):
        """Twenty connections on the one worker, their messages interleaved: each gets its own
        echoes only."""
        conns = [self.connect() for _ in range(20)]
        for rnd in range(5):
            for i, ws in enumerate(conns):
                ws.send(frame(OP_TEXT, f"conn {i} round {rnd} ", fin=False))
            for i, ws in enumerate(conns):
                ws.send(frame(OP_CONT, f"end {i}"))
            for i, ws in enumerate(reversed(conns)):
                j = len(conns) - 1 - i
                ws.expect_message(OP_TEXT, f"conn {j} round {rnd} end {j}")
        for ws in conns:
            ws.close_normally()

    def test_abrupt_disconnects_leave_the_server_serving(self):
        """Clients that vanish mid-handshake, mid-frame, mid-message or with a reset: the
        others are served as before."""
        alive = self.connect()
        half, _ = handshake_request("/ws/echo")
        cuts = [
            ("mid-handshake", None, half[:30]),
            ("mid-header", "/ws/echo", frame(OP_BINARY, b"x" * 70000)[:5]),
            ("mid-payload", "/ws/echo", frame(OP_BINARY, b"x" * 70000)[:30000]),
            ("mid-message", "/ws/echo", frame(OP_TEXT, "frag", fin=False)),
            ("mid-close", "/ws/echo", frame(OP_CLOSE, close_payload(1000, "r"))[:4]),
            ("while pinged", "/ws/ping", b""),
        ]
        for what, path, data in cuts:
            for reset in (False, True):
                with self.subTest(case=what, reset=reset):
                    if path is None:
                        s = open_socket()
                        s.sendall(data)
                    else:
                        s = self.connect(path).sock
                        s.sendall(data)
                    if reset:  # SO_LINGER 0: close sends a reset
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                    self.echo(alive, OP_TEXT, f"still served after {what}")
        alive.close_normally()

    def test_server_stop_closes_with_1001(self):
        """7.4.1: 1001, going away: a server going down. At SIGTERM every WebSocket gets a close
        1001, mid-message or not; the server closes the TCP connection (whether or not the client
        answers), and exits."""
        srv = Server("--shutdown-timeout", "3000")
        try:
            conns = []
            for _ in range(3):
                req, key = handshake_request("/ws/echo")
                s = open_socket(srv)
                self.socks.append(s)
                s.sendall(req)
                r = read_response(s, key)
                self.check_101(r)
                conns.append(WS(r.sock, r.rest))
            for ws in conns:  # every connection is up and served before the stop
                self.echo(ws, OP_BINARY, b"ready")
            conns[1].send(frame(OP_TEXT, "unfinished", fin=False))
            conns[1].send_frame(OP_PING, "taken")  # the fragment, then this, were read
            conns[1].expect_pong(b"taken")
            srv.proc.terminate()
            conns[0].expect_close(1001, reply=True)
            conns[1].expect_close(1001, reply=True)
            conns[2].expect_close(1001, reply=False)
            try:
                srv.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.fail("the server did not exit after closing its WebSockets")
        finally:
            srv.stop()

    def test_flood_read_slowly(self):
        """/ws/flood sends 40 messages of 100 kB, 4 MB in all, more than the socket buffers
        take (the server waits for its client): each arrives intact and in order, then its
        close (1000 "done")."""
        ws = self.connect("/ws/flood?count=40&size=100000")
        for i in range(40):
            ws.expect_message(OP_BINARY, bytes([ord("a") + i % 26]) * 100000)
        ws.expect_close(1000, reason="done", reply=True)


# ------------------------------------------------------------------------------------------------
# 12. permessage-deflate (RFC 7692; Autobahn's groups 12 and 13)
# ------------------------------------------------------------------------------------------------

HELLO = b"\xf2\x48\xcd\xc9\xc9\x07\x00"  # RFC 7692 7.2.3.1: "Hello", one compressed block

# Offers (each a list of Sec-WebSocket-Extensions lines) and the server's answer: the first
# permessage-deflate offer it can take (RFC 7692 5.1: the offers are in the client's order of
# preference), answered with no context takeover either way (7.1.1) and the window it was asked
# to keep to (7.1.2.1).
ACCEPTED_OFFERS = [
    (["permessage-deflate"], None),
    (["permessage-deflate; client_max_window_bits"], None),
    (["permessage-deflate; client_max_window_bits=8"], None),
    (["permessage-deflate; client_max_window_bits=15"], None),
    (['permessage-deflate; client_max_window_bits="8"'], None),
    (["permessage-deflate; server_no_context_takeover"], None),
    (["permessage-deflate; client_no_context_takeover"], None),
    (["permessage-deflate; server_no_context_takeover; client_no_context_takeover"], None),
    (["permessage-deflate; server_max_window_bits=9"], 9),
    (["permessage-deflate; server_max_window_bits=12"], 12),
    (["permessage-deflate; server_max_window_bits=15"], 15),
    (['permessage-deflate; server_max_window_bits="10"'], 10),
    (["permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
      "server_max_window_bits=11; client_max_window_bits=10"], 11),
    (["permessage-deflate;server_max_window_bits=13;client_max_window_bits"], 13),
    (["permessage-deflate ; client_max_window_bits ; server_max_window_bits=14"], 14),
    # other extensions before it are passed over
    (["x-webkit-deflate-frame, permessage-deflate"], None),
    (['foo; bar=1; baz="q", permessage-deflate; server_max_window_bits=13'], 13),
    (["foo", "permessage-deflate; server_max_window_bits=9"], 9),
    # a declined offer, then one that is taken: in one line, and on two lines
    (["permessage-deflate; foo, permessage-deflate"], None),
    (["permessage-deflate; server_max_window_bits=8, "
      "permessage-deflate; server_max_window_bits=10"], 10),
    (["permessage-deflate; client_no_context_takeover=1, "
      "permessage-deflate; client_max_window_bits"], None),
    (["permessage-deflate; unknown", "permessage-deflate; server_max_window_bits=14"], 14),
    (["permessage-deflate; server_max_window_bits=16",
      "x-foo, permessage-deflate; server_max_window_bits=12"], 12),
    # the first acceptable offer wins, not the one the server would like best
    (["permessage-deflate; server_max_window_bits=10, permessage-deflate"], 10),
    (["permessage-deflate, permessage-deflate; server_max_window_bits=10"], None),
    (["permessage-deflate", "permessage-deflate; server_max_window_bits=10"], None),
]

# Offers the server declines (RFC 7692 5.1: it may; 7: an offer with an unknown parameter, a
# parameter twice or with an invalid value is declined): no extension is answered.
DECLINED_OFFERS = [
    "permessage-deflate; unknown_parameter",
    "permessage-deflate; unknown_parameter=1",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
    "permessage-deflate; server_max_window_bits=8",   # zlib cannot compress to an 8-bit window
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=09",  # 7.1.2.1: no leading zeros
    "permessage-deflate; server_max_window_bits=0",
    "permessage-deflate; server_max_window_bits=-1",
    "permessage-deflate; server_max_window_bits=ten",
    "permessage-deflate; server_max_window_bits=100",
    "permessage-deflate; server_max_window_bits",      # 7.1.2.1: a value is required
    'permessage-deflate; server_max_window_bits=""',
    'permessage-deflate; server_max_window_bits="1 0"',
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=08",
    "permessage-deflate; client_no_context_takeover=1",  # 7.1.1.2: no value
    "permessage-deflate; server_no_context_takeover=true",
    'permessage-deflate; server_no_context_takeover=""',
    "Permessage-Deflate",                                 # names are compared exactly
    "PERMESSAGE-DEFLATE; server_max_window_bits=10",
    "permessage-deflate; Server_Max_Window_Bits=10",
    "permessage-deflate-x",
    "x-permessage-deflate",
]

# Headers that break the grammar (RFC 6455 9.1, RFC 9110 5.6), each a list of lines: no
# extension at all, wherever the break is. Lines of one field are one list (RFC 9110 5.3: a
# recipient may combine them, and the meaning must be the same either way).
MALFORMED_OFFERS = [
    ["permessage-deflate; =3"],
    ["permessage-deflate;"],
    ["permessage-deflate; ; server_max_window_bits=10"],
    ['permessage-deflate; server_max_window_bits="10'],
    ["permessage-deflate; server_max_window_bits="],
    ["permessage-deflate server_max_window_bits=10"],
    ["permessage-deflate; server_max_window_bits=10=11"],
    ["permessage-deflate; client_max_window_bits=1 0"],
    ["; permessage-deflate"],
    ["foo; =3, permessage-deflate"],
    ['foo; bar="unterminated, permessage-deflate'],
    ["permessage-deflate; foo, bar; =3, permessage-deflate"],
    ["permessage-deflate, foo; =3"],                       # after an acceptable offer
    ['permessage-deflate, x; y="unterminated'],
    ["foo; =3", "permessage-deflate"],                      # on another line
    ["permessage-deflate", "foo; =3"],
    ["permessage-deflate; server_max_window_bits=10", 'x; y="unterminated'],
]


def publish(topic, size):
    """POST /publish?t=topic&size=N on the server: N bytes of 'x' to the topic's sockets."""
    s = open_socket()
    try:
        s.sendall(f"POST /publish?t={topic}&size={size} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Content-Length: 0\r\n\r\n".encode())
        r = read_response(s, "")
    finally:
        s.close()
    assert (r.status, r.body) == (200, b'{"rc": "0"}\n'), r


class G12PerMessageDeflate(Base):
    """permessage-deflate (RFC 7692): offers and answers (5, 7.1), compressed messages both ways
    (6, 7.2), and what fails the connection (6, 7.2.2; RFC 6455 7.4.1 for the codes)."""

    def expect_no_extension(self, ws, path="/ws/echo"):
        """After an offer that was not answered: messages come uncompressed and a frame with RSV1
        fails the connection (RFC 6455 5.2: no extension defines it)."""
        self.echo(ws, OP_TEXT, ascii_payload(1000))  # RSV1 clear: recv_frame checks it
        ws.send_frame(OP_TEXT, HELLO, rsv=RSV1)
        ws.expect_close(1002)

    # negotiation (Autobahn 13) -------------------------------------------------------------

    def test_13_offers_accepted(self):
        """RFC 7692 5, 5.1: the server takes the first offer it accepts, in the client's order
        (across header lines, and across the extensions of one), passing over other extensions
        and declined offers; its answer is one permessage-deflate with server_no_context_takeover
        and client_no_context_takeover (7.1.1.1, 7.1.1.2: the server may add them unasked) and
        server_max_window_bits when the offer had it (7.1.2.1), never client_max_window_bits
        (7.1.2.2: it does not limit the client). Messages then go compressed both ways, the
        server's within its window (here a 4096-byte reply)."""
        for lines, bits in ACCEPTED_OFFERS:
            with self.subTest(offer=lines):
                r = self.handshake("/ws/echo", [("Sec-WebSocket-Extensions", lines[0])],
                                   extra=[f"Sec-WebSocket-Extensions: {v}" for v in lines[1:]])
                self.check_101(r, extensions=deflate_answer(bits))
                ws = WS(r.sock, r.rest, bits or 15)
                ws.send_frame(OP_TEXT, HELLO, rsv=RSV1)
                ws.expect_message(OP_TEXT, "Hello", compressed=False)
                p = word_text(4096)
                ws.send(compressed_message(OP_TEXT, p))
                ws.expect_message(OP_TEXT, p, compressed=True)
                ws.close_normally()

    def test_13_offers_declined(self):
        """RFC 7692 5.1, 7: an offer with an unknown parameter, a parameter given twice, or a
        value out of range or malformed (window bits 8-15 for the client's, 9-15 for the
        server's, which zlib cannot keep to 8; no leading zero; a value where none is defined;
        none where one is required) is declined; names are compared exactly. No extension is
        answered, and RSV1 stays reserved."""
        for offer in DECLINED_OFFERS:
            with self.subTest(offer=offer):
                ws = self.connect(headers=[("Sec-WebSocket-Extensions", offer)])
                self.expect_no_extension(ws)

    def test_13_malformed_header_gives_no_extension(self):
        """RFC 6455 9.1's grammar broken (an empty parameter name, an unterminated quoted string,
        a missing ';'): the header is not understood and no extension is answered, wherever the
        break is: before the offer, after it, or on another line of the same field (RFC 9110
        5.3: its lines are one list); the handshake still succeeds."""
        for lines in MALFORMED_OFFERS:
            with self.subTest(offer=lines):
                ws = self.connect(headers=[("Sec-WebSocket-Extensions", lines[0])],
                                  extra=[f"Sec-WebSocket-Extensions: {v}" for v in lines[1:]])
                self.expect_no_extension(ws)

    def test_13_server_max_window_bits(self):
        """RFC 7692 7.1.2.1: with server_max_window_bits=N answered, the server's messages refer
        back no further than 2^N bytes: a 100 kB reply (words from a vocabulary bigger than a
        small window) inflates with an N-bit window, which a compression with a bigger window
        would not."""
        p = word_text(100_000)
        for bits in (9, 10, 12, 15):
            with self.subTest(server_max_window_bits=bits):
                if bits < 15:  # the check can fail: a wider window's output needs a wider window
                    with self.assertRaises(zlib.error):
                        zlib.decompressobj(wbits=-bits).decompress(
                            deflate(p, wbits=bits + 1, level=1) + DEFLATE_TAIL)
                ws = self.connect_deflate(
                    offer=f"permessage-deflate; server_max_window_bits={bits}", bits=bits)
                self.assertEqual(ws.deflate_bits, bits)
                ws.send(compressed_message(OP_TEXT, p))
                ws.expect_message(OP_TEXT, p, compressed=True)  # inflated with wbits=-bits
                self.assertLess(ws.wire_length, len(p) * 3 // 4)
                ws.send(frame(OP_BINARY, p))
                ws.expect_message(OP_BINARY, p, compressed=True)
                ws.close_normally()

    # messages (Autobahn 12) ----------------------------------------------------------------

    def test_12_rfc_examples(self):
        """RFC 7692 7.2.3's payloads of "Hello": one compressed block (7.2.3.1), a block with no
        compression (7.2.3.3), two blocks (7.2.3.5); and 7.2.3.6's way of ending a message of
        unknown length, its last fragment an empty block's first octet."""
        ws = self.connect_deflate()
        for what, data in (
                ("7.2.3.1", frame(OP_TEXT, HELLO, rsv=RSV1)),
                ("7.2.3.3", frame(OP_TEXT, bytes.fromhex("000500faff48656c6c6f00"), rsv=RSV1)),
                ("7.2.3.5", frame(OP_TEXT, bytes.fromhex("f248050000 00ffff cac9c90700"),
                                  rsv=RSV1)),
                ("7.2.3.6", frame(OP_TEXT, deflate("Hello", tail=True), fin=False, rsv=RSV1) +
                 frame(OP_CONT, b"\x00"))):
            with self.subTest(example=what):
                ws.send(data)
                ws.expect_message(OP_TEXT, "Hello")
        ws.close_normally()

    def test_12_rfc_example_final_block(self):
        """RFC 7692 7.2.3.4: "Hello" in a block with BFINAL set, then the one octet 00 that 7.2.1
        leaves of the empty block a sender appends (its 00 00 ff ff removed): a valid message."""
        ws = self.connect_deflate()
        ws.send_frame(OP_TEXT, bytes.fromhex("f348cdc9c9070000"), rsv=RSV1)
        ws.expect_message(OP_TEXT, "Hello")
        ws.send_frame(OP_TEXT, deflate_final(b"Hello") + b"\x00", rsv=RSV1)
        ws.expect_message(OP_TEXT, "Hello")
        ws.send_frame(OP_TEXT, deflate_final(b"Hello"), rsv=RSV1)  # and without the octet
        ws.expect_message(OP_TEXT, "Hello")
        ws.close_normally()

    def _sizes(self, opcode, make):
        """Messages of each size sent compressed, then uncompressed, on a connection of their
        own: each echoed, compressed by the server when 256 bytes or more (and compressible)."""
        for n in (0, 1, 255, 256, 1000, 65536, MiB):
            with self.subTest(length=n):
                ws = self.connect_deflate()
                p = make(n)
                ws.send(compressed_message(opcode, p))
                ws.expect_message(opcode, p, compressed=n >= 256)
                ws.send_frame(opcode, p)
                ws.expect_message(opcode, p, compressed=n >= 256)
                if n >= 256:
                    self.assertLess(ws.wire_length, n // 2, "compressible text barely compressed")
                ws.close_normally()

    def test_12_1_text_sizes(self):
        self._sizes(OP_TEXT, ascii_payload)

    def test_12_2_binary_sizes(self):
        block = os.urandom(64)
        self._sizes(OP_BINARY, lambda n: (block * (n // 64 + 1))[:n])

    def test_12_empty_compressed_payloads(self):
        """An empty message compressed is one octet, 00 (an empty stored block's first, 7.2.1,
        7.2.3.6), or nothing at all (7.2.2: the receiver appends 00 00 ff ff anyway)."""
        ws = self.connect_deflate()
        for op in (OP_TEXT, OP_BINARY):
            for payload in (b"\x00", b""):
                with self.subTest(opcode=OP_NAMES[op], payload=payload):
                    ws.send_frame(op, payload, rsv=RSV1)
                    ws.expect_message(op, b"", compressed=False)
        ws.close_normally()

    def test_12_text_is_checked_once_inflated(self):
        """RFC 6455 8.1 on the inflated text (RFC 7692 6: the payload is the message's data once
        inflated): multi-byte text whose compressed bytes are far from UTF-8 is echoed."""
        texts = VALID_UTF8 + [b"".join(VALID_UTF8), utf8_payload(4096)]
        self.assertFalse(any(utf8_valid(deflate(b)) for b in texts[-2:]))
        ws = self.connect_deflate()
        for b in texts:
            with self.subTest(text=b[:40]):
                ws.send(compressed_message(OP_TEXT, b))
                ws.expect_message(OP_TEXT, b)
        ws.close_normally()

    def test_12_fragmented(self):
        """RFC 7692 6.1: a compressed message's frames carry its compressed bytes in order, RSV1
        on the first only: split in 2, in frames of 100 bytes, of 1 byte, with empty ones."""
        ws = self.connect_deflate()
        for op, n, size in ((OP_TEXT, 1008, 50), (OP_TEXT, 65536, 100), (OP_BINARY, 4096, 1),
                            (OP_TEXT, 304, 7), (OP_BINARY, MiB, 4096)):
            p = utf8_payload(n) if op == OP_TEXT else os.urandom(32) * (n // 32)
            c = deflate(p)
            with self.subTest(opcode=OP_NAMES[op], length=n, split="in 2"):
                k = len(c) // 2
                ws.send(frame(op, c[:k], fin=False, rsv=RSV1) + frame(OP_CONT, c[k:]))
                ws.expect_message(op, p, compressed=True)
            with self.subTest(opcode=OP_NAMES[op], length=n, split=size):
                ws.send(compressed_message(op, payload=c, size=size))
                ws.expect_message(op, p, compressed=True)
            with self.subTest(opcode=OP_NAMES[op], length=n, split="empty frames around"):
                ws.send(frame(op, b"", fin=False, rsv=RSV1) + frame(OP_CONT, c, fin=False) +
                        frame(OP_CONT, b"", fin=False) + frame(OP_CONT, b""))
                ws.expect_message(op, p, compressed=True)
        ws.close_normally()

    def test_12_fragmented_with_pings_between(self):
        """RFC 6455 5.4, 5.5.2: pings between a compressed message's fragments are answered at
        once, uncompressed (RFC 7692 6: control frames never are), the message after."""
        ws = self.connect_deflate()
        p = ascii_payload(20000)
        c = deflate(p)
        parts = [c[i:i + 40] for i in range(0, len(c), 40)]
        self.assertGreater(len(parts), 3)
        ws.send(frame(OP_TEXT, parts[0], fin=False, rsv=RSV1) + frame(OP_PING, "first"))
        ws.expect_pong(b"first")
        for i, q in enumerate(parts[1:-1]):
            ws.send(frame(OP_CONT, q, fin=False) + frame(OP_PING, f"ping {i}"))
            ws.expect_pong(f"ping {i}".encode())
        ws.send(frame(OP_CONT, parts[-1]))
        ws.expect_message(OP_TEXT, p, compressed=True)
        ws.close_normally()

    def test_12_byte_by_byte(self):
        ws = self.connect_deflate()
        p = ascii_payload(3000)
        ws.send_bytewise(compressed_message(OP_TEXT, p) + compressed_message(OP_BINARY, p, size=9))
        ws.expect_message(OP_TEXT, p, compressed=True)
        ws.expect_message(OP_BINARY, p, compressed=True)
        ws.close_normally()

    def test_12_uncompressed_messages_after_negotiation(self):
        """RFC 7692 6: RSV1 clear, the message is taken as it is; compressed and uncompressed
        ones mixed in one write (each compressed one inflated on its own, 7.1.1.2)."""
        ws = self.connect_deflate()
        msgs = []
        for i in range(40):
            op = OP_TEXT if i % 3 else OP_BINARY
            p = ascii_payload(10 + 97 * i)
            msgs.append((op, p, frame(op, p) if i % 2 else compressed_message(op, p)))
        ws.send(b"".join(m[2] for m in msgs))
        for op, p, _ in msgs:
            ws.expect_message(op, p, compressed=len(p) >= 256)
        ws.close_normally()

    def test_12_incompressible_is_sent_uncompressed(self):
        """The server compresses a message only when that makes it smaller: 64 KiB of random
        bytes (compressed, 65 KiB) come back with RSV1 clear, however they were sent."""
        ws = self.connect_deflate()
        p = os.urandom(65536)
        ws.send(compressed_message(OP_BINARY, p))
        ws.expect_message(OP_BINARY, p, compressed=False)
        ws.send_frame(OP_BINARY, p)
        ws.expect_message(OP_BINARY, p, compressed=False)
        ws.close_normally()

    def test_12_each_reply_inflates_on_its_own(self):
        """RFC 7692 7.1.1.1: server_no_context_takeover was answered: the same message three times
        is compressed the same three times, and each inflates with a fresh inflater (one that
        took over the window would make the later ones mere references to the first)."""
        ws = self.connect_deflate()
        p = word_text(5000)
        lengths = []
        for _ in range(3):
            ws.send(compressed_message(OP_TEXT, p))
            ws.expect_message(OP_TEXT, p, compressed=True)
            lengths.append(ws.wire_length)
        self.assertEqual(len(set(lengths)), 1, f"compressed lengths {lengths}")
        ws.close_normally()

    def test_12_connections_interleaved(self):
        """Fragmented compressed messages of several connections interleaved, each inflated on
        its own (the server's zlib streams are its worker's, not the connection's)."""
        conns = [self.connect_deflate() for _ in range(6)]
        msgs = [word_text(3000 + 500 * i, seed=i) for i in range(len(conns))]
        packed = [deflate(p) for p in msgs]
        third = [len(c) // 3 for c in packed]
        for ws, c, k in zip(conns, packed, third):
            ws.send(frame(OP_TEXT, c[:k], fin=False, rsv=RSV1))
        for ws, c, k in zip(conns, packed, third):
            ws.send(frame(OP_CONT, c[k:2 * k], fin=False))
        for ws, c, k, p in zip(reversed(conns), reversed(packed), reversed(third),
                               reversed(msgs)):
            ws.send(frame(OP_CONT, c[2 * k:]) + compressed_message(OP_BINARY, p[:300]))
            ws.expect_message(OP_TEXT, p, compressed=True)
            ws.expect_message(OP_BINARY, p[:300], compressed=True)
        for ws in conns:
            ws.close_normally()

    def test_12_published_to_sockets_with_different_windows(self):
        """A message published to a topic reaches each socket compressed as that socket
        negotiated (a window of 2^9 or 2^15 bytes, or not at all), and a second one is not the
        first's compression again."""
        # the first and the last compressing socket share a window, whichever way the topic's
        # sockets are walked: a compression kept from one message would be sent for the next
        offers = [None, "permessage-deflate", "permessage-deflate; server_max_window_bits=9",
                  "permessage-deflate", None]
        conns = []
        for offer in offers:
            if offer is None:
                ws = self.connect("/ws/topic?t=pmd")
            else:
                ws = self.connect_deflate("/ws/topic?t=pmd", offer, answered_bits(offer)
                                          if "bits" in offer else None)
            op, data = ws.recv_message()
            self.assertTrue(op == OP_TEXT and data.startswith(b"ready "), data)
            conns.append(ws)
        for size in (5000, 7000, 100):
            publish("pmd", size)
            for ws, offer in zip(conns, offers):
                with self.subTest(size=size, offer=offer):
                    ws.expect_message(OP_TEXT, b"x" * size,
                                      compressed=offer is not None and size >= 256)
        for ws in conns:
            ws.close_normally()

    # what fails the connection ---------------------------------------------------------------

    def test_12_rsv1_on_a_continuation_is_1002(self):
        """RFC 7692 6: RSV1 on a message's later fragment fails the connection (1002)."""
        c = deflate(ascii_payload(1000))
        cases = {
            "compressed message": frame(OP_TEXT, c[:10], fin=False, rsv=RSV1) +
                                  frame(OP_CONT, c[10:], rsv=RSV1),
            "uncompressed message": frame(OP_TEXT, "frag", fin=False) +
                                    frame(OP_CONT, deflate("ment"), rsv=RSV1),
            "third of three": frame(OP_BINARY, c[:10], fin=False, rsv=RSV1) +
                              frame(OP_CONT, c[10:20], fin=False) +
                              frame(OP_CONT, c[20:], rsv=RSV1),
        }
        for what, data in cases.items():
            with self.subTest(case=what):
                ws = self.connect_deflate()
                ws.send(data + frame(OP_PING, "not answered"))
                ws.expect_close(1002)

    def test_12_rsv1_on_a_control_frame_is_1002(self):
        """RFC 7692 6: control frames are never compressed: RSV1 on a ping (no pong), a pong or a
        close fails the connection, between a message's fragments as well."""
        cases = {
            "ping": frame(OP_PING, "ping", rsv=RSV1),
            "empty ping": frame(OP_PING, b"", rsv=RSV1),
            "pong": frame(OP_PONG, "pong", rsv=RSV1),
            "close": frame(OP_CLOSE, close_payload(1000), rsv=RSV1),
            "ping between fragments": frame(OP_TEXT, HELLO[:3], fin=False, rsv=RSV1) +
                                      frame(OP_PING, "p", rsv=RSV1) + frame(OP_CONT, HELLO[3:]),
        }
        for what, data in cases.items():
            with self.subTest(case=what):
                ws = self.connect_deflate()
                ws.send(data)
                ws.expect_close(1002)

    def test_12_rsv2_rsv3_are_1002(self):
        """RFC 6455 5.2: permessage-deflate defines RSV1 only; RSV2 and RSV3 still fail the
        connection."""
        for rsv in (RSV2, RSV3, RSV1 | RSV2, RSV1 | RSV3, RSV1 | RSV2 | RSV3):
            with self.subTest(rsv=f"{rsv:03b}"):
                ws = self.connect_deflate()
                self.echo(ws, OP_TEXT, "fine")
                ws.send_frame(OP_TEXT, HELLO, rsv=rsv)
                ws.expect_close(1002)

    def test_12_data_that_does_not_inflate_is_1007(self):
        """RFC 6455 7.4.1: 1007, data inconsistent with the message's type: compressed data that
        is not DEFLATE (RFC 1951: a reserved block type, a stored block whose length and its
        complement disagree, a dynamic block's code lengths that make no code) or that stops
        inside a block, text or binary, in one frame or several."""
        garbage = {
            "block type 11": b"\xff\xff\xff\xff",
            "block type 11, final": b"\x07",
            "stored lengths disagree": b"\x00\x05\x00\x00\x00Hello",
            "bad code lengths": b"\x04\xff\xff\xff\xff\xff\xff\xff",
            # cut short: the 00 00 ff ff the receiver appends (7.2.2) is not an empty block's
            # but the data of the block in progress, which still does not end
            "a stored block cut short": bytes.fromhex("000500faff48"),
            "100 bytes stored, 91 sent": deflate(b"A" * 100, level=0)[:-10],
            "after a block, a stored one cut short": HELLO + b"\xff",
        }
        for what, g in garbage.items():
            for op in (OP_TEXT, OP_BINARY):
                with self.subTest(case=what, opcode=OP_NAMES[op]):
                    ws = self.connect_deflate()
                    ws.send(frame(op, g, rsv=RSV1))
                    ws.expect_close(1007)
        with self.subTest(case="fragmented"):
            ws = self.connect_deflate()
            ws.send(frame(OP_BINARY, b"\x00\x05", fin=False, rsv=RSV1) +
                    frame(OP_CONT, b"\x00\x00", fin=False) + frame(OP_CONT, b"\x00Hello"))
            ws.expect_close(1007)

    def test_12_client_context_takeover_is_1007(self):
        """RFC 7692 7.1.1.2: client_no_context_takeover was answered, so each message is
        inflated on its own: one compressed as a reference to an earlier message (a window the
        server does not have) does not inflate (1007)."""
        ws = self.connect_deflate()
        p = word_text(2000)
        ws.send(compressed_message(OP_TEXT, p))
        ws.expect_message(OP_TEXT, p, compressed=True)
        c = deflate(p, zdict=p)
        self.assertLess(len(c), 50)  # the whole message, one reference back
        ws.send_frame(OP_TEXT, c, rsv=RSV1)
        ws.expect_close(1007)

    def test_12_data_after_the_final_block_is_1007(self):
        """RFC 1951 3.2.3: a block with BFINAL ends the data; bytes after it (other than the
        octet 00 of RFC 7692 7.2.1's empty block, 7.2.3.4) are not DEFLATE: 1007."""
        cases = {
            "text": deflate_final(b"Hello") + b"extra",
            "a second stream": deflate_final(b"Hello") + deflate_final(b"again"),
            "a second block": deflate_final(b"Hello") + HELLO,
            "a stored block": deflate_final(b"Hello") + b"\x00\x05\x00\xfa\xffHello",
        }
        for what, data in cases.items():
            with self.subTest(case=what):
                ws = self.connect_deflate()
                ws.send_frame(OP_TEXT, data, rsv=RSV1)
                ws.expect_close(1007)
        with self.subTest(case="in the last fragment"):
            ws = self.connect_deflate()
            c = deflate_final(ascii_payload(500))
            ws.send(frame(OP_TEXT, c, fin=False, rsv=RSV1) + frame(OP_CONT, b"garbage"))
            ws.expect_close(1007)

    def test_12_compressed_invalid_utf8_is_1007(self):
        """RFC 6455 8.1 on the inflated text: not UTF-8, 1007; the same bytes as binary are
        echoed."""
        for what, b in INVALID_UTF8.items():
            with self.subTest(case=what):
                ws = self.connect_deflate()
                ws.send(compressed_message(OP_BINARY, b))
                ws.expect_message(OP_BINARY, b)
                ws.send(compressed_message(OP_TEXT, b))
                ws.expect_close(1007)
        with self.subTest(case="at the end of 64 KiB, fragmented"):
            ws = self.connect_deflate()
            ws.send(compressed_message(OP_TEXT, utf8_payload(65536) + b"\xed\xa0\x80", size=100))
            ws.expect_close(1007)

    def test_12_decompression_bomb_is_1009(self):
        """RFC 6455 7.4.1: 1009, too big to process, measured inflated: /ws/small takes 1024
        bytes, and a frame of 18 bytes inflating to 2000, or of a kilobyte inflating to a
        megabyte, is closed with 1009 without anything echoed; /ws/echo takes 4 MiB and
        64 MiB of zeros (64 kB compressed) is 1009 as well."""
        cases = [
            ("/ws/small", OP_BINARY, b"a" * 2000, None),
            ("/ws/small", OP_TEXT, b"a" * 2000, None),
            ("/ws/small", OP_BINARY, bytes(MiB), None),
            ("/ws/small", OP_BINARY, bytes(MiB), 100),
            ("/ws/echo", OP_BINARY, bytes(64 * MiB), None),
            ("/ws/echo", OP_TEXT, b"a" * (4 * MiB + 1), 4096),
        ]
        for path, op, p, size in cases:
            c = deflate(p)
            with self.subTest(path=path, inflated=len(p), compressed=len(c), split=size):
                ws = self.connect_deflate(path)
                self.echo(ws, OP_TEXT, "fits")
                ws.send(compressed_message(op, payload=c, size=size), tolerate_close=True)
                ws.expect_close(1009, allow_reset=True)  # the close is the next frame: no echo

    def test_12_limit_is_on_the_inflated_size(self):
        """/ws/small (max_message 1024): 1024 bytes inflated are echoed, 1025 are 1009, in one
        frame or in fragments."""
        for op in (OP_TEXT, OP_BINARY):
            for size in (None, 37):
                with self.subTest(opcode=OP_NAMES[op], split=size):
                    ws = self.connect_deflate("/ws/small")
                    p = ascii_payload(1024)
                    ws.send(compressed_message(op, p, size=size))
                    ws.expect_message(op, p, compressed=True)
                    ws.send(compressed_message(op, ascii_payload(1025), size=size))
                    ws.expect_close(1009)

    def test_12_bigger_on_the_wire_than_inflated(self):
        """Compression can grow a message (5 bytes a stored block): 1024 random bytes compressed
        take some 1030 bytes, over /ws/small's 1024, and are still a message of 1024 bytes
        (echoed, uncompressed: incompressible); as stored blocks only too."""
        for what, c_of in (("deflate", lambda p: deflate(p)),
                           ("stored blocks", lambda p: deflate(p, level=0))):
            for size in (None, 100):
                with self.subTest(how=what, split=size):
                    ws = self.connect_deflate("/ws/small")
                    p = os.urandom(1024)
                    c = c_of(p)
                    self.assertGreater(len(c), 1024)
                    ws.send(compressed_message(OP_BINARY, payload=c, size=size))
                    ws.expect_message(OP_BINARY, p, compressed=False)
                    ws.close_normally()


if __name__ == "__main__":
    unittest.main(verbosity=2)
