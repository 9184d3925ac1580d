/**
 * cadre/websocket.h — WebSockets (RFC 6455) on the server's own connections: a handler accepts
 * the opening handshake, then reads and writes messages in plain sequential code on its
 * coroutine (each wait suspends it; its worker serves others meanwhile).
 *
 *     static int echo(cadre_request *r, cadre_ws *ws) {
 *         cadre_ws_message m;
 *         int rc;
 *         while ((rc = cadre_ws_recv(ws, &m)) == 0)
 *             if ((rc = cadre_ws_send(ws, m.type, m.data.ptr, m.data.len)) != 0)
 *                 break;
 *         return rc == CADRE_ECLOSED ? 0 : rc;
 *     }
 *     cadre_websocket(app, "/ws", echo, .max_message = 4 << 20);   // cadre/app.h
 *
 * What the connection does by itself: reassembles fragmented messages; answers pings; checks
 * that text is UTF-8 (1007 otherwise; uncompressed text without waiting for the rest of its
 * message, compressed once inflated: docs/websockets.md), that frames follow the protocol
 * (1002: unmasked client frames, reserved bits or opcodes, control frames over 125 bytes or
 * fragmented, a continuation out of place), that a message fits max_message (1009); completes
 * the closing handshake (the peer's code echoed, the TCP connection then closed by the server,
 * as section 7.1.1 says); pings a silent client and closes it (1011) when it does not answer;
 * closes every socket with 1001 when the server stops.
 *
 * Compression (permessage-deflate, RFC 7692) is negotiated when the client offers it, as browsers
 * and most clients do, unless the route sets no_compression. Both directions then compress each
 * message on its own (server_no_context_takeover, client_no_context_takeover): a socket keeps no
 * compressor between messages — its worker's one serves all its sockets — so an idle socket costs
 * no more than without compression, and a message published to a topic is compressed once for
 * all the worker's sockets. The server compresses messages of CADRE_WS_DEFLATE_MIN bytes or more
 * (libdeflate's fastest level; zlib's for a window under 32 KiB that a message overflows) and
 * sends one as is when compressing does not make it smaller; it inflates what the client
 * compressed within max_message (1009 past it: a small message cannot expand into a large one)
 * and closes with 1007 on data that does not inflate.
 */
#ifndef CADRE_WEBSOCKET_H
#define CADRE_WEBSOCKET_H

#include "http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Frames (section 5.2): the parser, with no state and no allocation (fuzzed)
 * ------------------------------------------------------------------------------------------- */

enum {
    CADRE_WS_CONTINUATION = 0x0,
    CADRE_WS_TEXT = 0x1,
    CADRE_WS_BINARY = 0x2,
    CADRE_WS_CLOSE = 0x8,
    CADRE_WS_PING = 0x9,
    CADRE_WS_PONG = 0xA,
};

/** Close codes (section 7.4.1) the server sends. */
enum {
    CADRE_WS_NORMAL = 1000,
    CADRE_WS_GOING_AWAY = 1001,
    CADRE_WS_PROTOCOL_ERROR = 1002,
    CADRE_WS_UNSUPPORTED_DATA = 1003,
    CADRE_WS_NO_STATUS = 1005,     /**< never sent: a close frame without a code was received */
    CADRE_WS_ABNORMAL = 1006,      /**< never sent: the connection was lost without a close frame */
    CADRE_WS_INVALID_DATA = 1007,  /**< text that is not UTF-8 */
    CADRE_WS_POLICY = 1008,
    CADRE_WS_TOO_BIG = 1009,
    CADRE_WS_INTERNAL_ERROR = 1011,
};

typedef struct cadre_ws_frame {
    bool fin;
    bool rsv1;         /**< a compressed message's first frame (permessage-deflate) */
    int opcode;
    bool masked;
    uint8_t mask[4];
    uint64_t len;      /**< the payload's length */
    size_t header_len; /**< the payload starts there */
} cadre_ws_frame;

/** cadre_ws_parse_frame's flags. */
enum {
    CADRE_WS_FROM_CLIENT = 1, /**< the frame is a client's: masked */
    CADRE_WS_DEFLATE = 2,     /**< permessage-deflate was negotiated: RSV1 may mark a message */
};

/**
 * Parses the frame header at buf[0..len), as sent by a client (masked) when flags has
 * CADRE_WS_FROM_CLIENT (true converts to it), else by a server (unmasked); with CADRE_WS_DEFLATE,
 * RSV1 may be set on a text or binary frame (f->rsv1: the message is compressed). Returns the
 * header's length (2 to 14; the payload, f->len bytes, follows), CADRE_HTTP_PARTIAL when more
 * bytes are needed, or CADRE_HTTP_ERROR with *close_code the code to close with (1002) and *why
 * a static reason: reserved bits set (RSV2, RSV3; RSV1 without permessage-deflate, or on a
 * continuation or control frame), a reserved opcode, a control frame fragmented or over 125
 * bytes, a client frame unmasked (or a server frame masked), a 64-bit length with its top bit set.
 */
int cadre_ws_parse_frame(const uint8_t *buf, size_t len, unsigned flags, cadre_ws_frame *f,
                         int *close_code, const char **why);

/** Messages shorter than this are sent uncompressed: compressing them alone gains little. */
#define CADRE_WS_DEFLATE_MIN 256


/** Unmasks (or masks) data in place, for a payload that starts at offset from the frame's. */
void cadre_ws_unmask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset);

/**
 * Checks a close frame's payload (section 5.5.1): none, or a code that may be sent (1000–1003,
 * 1007–1014, 3000–4999) and a UTF-8 reason. Returns 0 with *code (CADRE_WS_NO_STATUS when
 * there was none), or CADRE_EPARSE with *code the one to answer with (1002, or 1007 for a reason
 * that is not UTF-8).
 */
int cadre_ws_parse_close(const uint8_t *payload, size_t len, int *code);

/** The value of Sec-WebSocket-Accept for a Sec-WebSocket-Key (section 4.2.2): base64 of the SHA-1
 *  of the key and the RFC's GUID, 28 characters and a NUL, into out. libcrypto (libssl3) is
 *  loaded at the first call. Returns 0, CADRE_EINVAL (a key over 92 bytes), CADRE_EUNSUPPORTED
 *  (libcrypto cannot be loaded: logged) or CADRE_ESYSTEM. */
int cadre_ws_accept_key(cadre_slice key, char out[29]);

/* ---------------------------------------------------------------------------------------------
 * A WebSocket connection, on a request's coroutine
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_ws cadre_ws;

/** The largest max_message (1 GiB): a message is held whole in memory. */
#define CADRE_WS_MAX_MESSAGE ((size_t)1 << 30)

typedef struct cadre_ws_opts {
    /** The longest message taken, reassembled from its fragments (1 MiB; at most
     *  CADRE_WS_MAX_MESSAGE): a longer one closes the connection with 1009 as soon as its
     *  length is known. */
    size_t max_message;
    /** After this long without a frame from the client, it is pinged; after as long again
     *  without one (a pong, any frame), it is closed with 1011 (30000; -1: never). */
    int ping_interval_ms;
    /** After this long without a message from the client (pings and pongs do not count),
     *  cadre_ws_recv closes the connection with 1001 and returns CADRE_ETIMEDOUT (0: never). */
    int idle_timeout_ms;
    /** The subprotocols the app speaks, comma-separated, by preference ("v2.chat, chat"): the
     *  first of them the client offers (Sec-WebSocket-Protocol) is chosen (cadre_ws_protocol).
     *  A client that offers none of them is accepted without one (cadre_ws_protocol NULL: the
     *  handler decides, as RFC 6455 section 4.2.2 leaves it to the server). */
    const char *subprotocols;
    /** Answer without permessage-deflate, even when the client offers it (messages that are
     *  already compressed, or a CPU that matters more than the network). */
    bool no_compression;
} cadre_ws_opts;

/**
 * Accepts r's opening handshake (section 4.2): a GET over HTTP/1.1 with Upgrade: websocket,
 * Connection: Upgrade, a Sec-WebSocket-Key of 16 bytes in base64 and Sec-WebSocket-Version: 13.
 * Sends 101 Switching Protocols at once, with the headers set on r so far (a cookie), and sets
 * *out to the connection, which lives until the handler returns: then the connection is closed
 * (1000, or 1011 when the handler returned an error) if it was not already. What to check before
 * (who the user is, the Origin) is the caller's: cadre_websocket (cadre/app.h) does both.
 * Returns 0, or the status of the refusal it set as r's response: 426 (not a WebSocket request,
 * or another version: Upgrade: websocket and Sec-WebSocket-Version: 13 say what is wanted), 400
 * (a malformed handshake: the detail says which header), 501 (the test client, which has no
 * socket), 503 (out of memory). The handler returns that status as is.
 */
int cadre__ws_accept(cadre_request *r, const cadre_ws_opts *opts, cadre_ws **out);
#define cadre_ws_accept(r, out, ...)                                                               \
    cadre__ws_accept((r), &(cadre_ws_opts){ __VA_ARGS__ }, (out))

typedef struct cadre_ws_message {
    int type;         /**< CADRE_WS_TEXT (valid UTF-8) or CADRE_WS_BINARY */
    cadre_slice data; /**< the whole message: valid until the next cadre_ws_recv */
} cadre_ws_message;

/**
 * Waits for the next message from the client (suspending the request; control frames are
 * handled on the way). Returns 0 with *msg, or:
 *   CADRE_ECLOSED    the connection is closed: the client closed it (its code answered), it broke
 *                    the protocol (closed with 1002, 1007 or 1009), it did not answer a ping, or
 *                    it went away; cadre_ws_close_code says which;
 *   CADRE_ECANCELED  the server is stopping: the connection is closed with 1001;
 *   CADRE_ETIMEDOUT  no message for idle_timeout_ms: closed with 1001.
 * After any of them every call returns CADRE_ECLOSED.
 */
int cadre_ws_recv(cadre_ws *ws, cadre_ws_message *msg /* OUT */);

/**
 * Sends a message (CADRE_WS_TEXT, which must be UTF-8, or CADRE_WS_BINARY) in one frame. It is
 * queued and written as far as the socket takes it — at once, or, while the client has already
 * sent the handler's next message, together with the answers to the messages that came with it
 * (one write for a batch), and always before the handler waits or returns; while more than
 * 256 KiB wait for a slow client the call suspends (a client that takes nothing for the write timeout is dropped).
 * Another coroutine of the same worker thread may send on ws too (a broadcast to the sockets of
 * a room): that call never waits; a client with more than 4 MiB waiting for it is dropped
 * (CADRE_ECLOSED) and its own handler's cadre_ws_recv returns CADRE_ECLOSED. Never from
 * another thread.
 * Returns 0, CADRE_ECLOSED (the connection is closed, or closing), CADRE_EINVAL (a bad type, or
 * text that is not UTF-8: nothing sent) or CADRE_ENOMEM.
 */
int cadre_ws_send(cadre_ws *ws, int type, const void *data, size_t len);

/** cadre_ws_send of a NUL-terminated text. */
int cadre_ws_send_text(cadre_ws *ws, const char *text);

/**
 * Starts the closing handshake with code (1000–1003, 1007–1014 or 3000–4999) and reason (UTF-8,
 * at most 123 bytes; NULL for none); the client's answer is awaited by cadre_ws_recv (which then
 * returns CADRE_ECLOSED) or, when the handler returns, by the server. Returns 0, CADRE_ECLOSED
 * (closed or closing already) or CADRE_EINVAL (a code or reason that may not be sent).
 */
int cadre_ws_close(cadre_ws *ws, int code, const char *reason);

/** The close code: the client's (or CADRE_WS_NO_STATUS, CADRE_WS_ABNORMAL when the connection
 *  was lost), else the server's, once the connection is closed or closing; 0 while it is open. */
int cadre_ws_close_code(const cadre_ws *ws);

/** The subprotocol chosen at the handshake (cadre_ws_opts.subprotocols), or NULL. */
const char *cadre_ws_protocol(const cadre_ws *ws);

/** Whether permessage-deflate was negotiated on ws (see the top of this header). */
bool cadre_ws_compressed(const cadre_ws *ws);

/** The connection's request (its headers, its user, its arena: which lives as long as the
 *  connection, so memory for each message belongs in cadre_ws_scratch). */
cadre_request *cadre_ws_request(cadre_ws *ws);

/** An arena emptied at each cadre_ws_recv: per-message memory on a long-lived connection. */
cadre_arena *cadre_ws_scratch(cadre_ws *ws);

/* ---------------------------------------------------------------------------------------------
 * Topics: a message published from any thread reaches every socket subscribed, on every worker
 *
 *     // the handler of a page's socket: it hears what happens to product 42
 *     cadre_ws_subscribe(ws, "product:42");
 *     while (cadre_ws_recv(ws, &m) == 0) ...
 *
 *     // anywhere else: another request, a task, a thread of one's own
 *     cadre_ws_publish_text("product:42", "{\"stock\": 3}");
 *
 * What Django needs Channels and Redis for, inside the process: each worker thread keeps its own
 * sockets' subscriptions; a publish copies the message once and hands it to every worker that
 * has subscriptions, which queues it on each subscribed socket on its loop's next turn. Messages
 * from one publisher reach a socket in the order they were published. Delivery is to the sockets
 * subscribed when the worker takes the message: at most once, never waiting for a slow client
 * (one with more than 4 MiB waiting for it is dropped, as another coroutine's cadre_ws_send
 * drops it). Only this process's sockets hear it, unless a relay carries it to the other
 * instances behind the load balancer: cadre_db_relay_topics (cadre/db.h) does, over PostgreSQL.
 * ------------------------------------------------------------------------------------------- */

/** The largest message cadre_ws_publish takes (1 MiB). */
#define CADRE_WS_PUBLISH_MAX ((size_t)1 << 20)

/**
 * Subscribes ws to topic (1 to 255 bytes of UTF-8, matched exactly); again is a no-op. Called on
 * the socket's worker thread (its handler, or another coroutine there). The subscription ends
 * with cadre_ws_unsubscribe or when the handler returns. topic is copied. Returns 0,
 * CADRE_EINVAL (no topic, or a bad one), CADRE_ESTATE (another thread) or CADRE_ENOMEM.
 */
int cadre_ws_subscribe(cadre_ws *ws, const char *topic);

/** Ends ws's subscription to topic. Returns 0, CADRE_ENOTFOUND (it was not subscribed),
 *  CADRE_EINVAL (no topic, or one cadre_ws_subscribe would refuse) or CADRE_ESTATE (another
 *  thread). */
int cadre_ws_unsubscribe(cadre_ws *ws, const char *topic);

/**
 * Publishes a message (CADRE_WS_TEXT, UTF-8, or CADRE_WS_BINARY; at most CADRE_WS_PUBLISH_MAX
 * bytes) to topic, from any thread; data is copied. Never waits. Returns 0 (queued for every
 * worker with subscriptions — none, or no server running in this process, is 0 too),
 * CADRE_EINVAL (a bad topic, type or size, or text that is not UTF-8: nothing published),
 * CADRE_ENOMEM, or CADRE_EBUSY when a worker's mailbox held 64 MiB it has not taken (a worker
 * stuck: its sockets miss the message, logged once per episode; the others have it).
 */
int cadre_ws_publish(const char *topic, int type, const void *data, size_t len);

/** cadre_ws_publish of a NUL-terminated text. */
int cadre_ws_publish_text(const char *topic, const char *text);

/**
 * What carries a process's publishes to other processes: called by every cadre_ws_publish, once
 * the message is checked, on the publisher's thread — so it must never wait (queue the message
 * and return). topic and data are the publisher's: copy what is kept. It runs under the hub's
 * lock: it must not call cadre_ws_relay, nor publish. Returns 0, or an error that
 * cadre_ws_publish returns (the local delivery happened all the same).
 */
typedef int (*cadre_ws_relay_fn)(const char *topic, int type, const void *data, size_t len,
                                 void *ctx);

/** Sets the process's relay (one; NULL: none, as at the start). cadre_db_relay_topics sets one
 *  over PostgreSQL's NOTIFY. Returns once no publisher calls the one it replaces. */
void cadre_ws_relay(cadre_ws_relay_fn fn, void *ctx);

/** As cadre_ws_publish, for a message that came from another process: to this process's
 *  sockets only, not relayed again. */
int cadre_ws_publish_local(const char *topic, int type, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
