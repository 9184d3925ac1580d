/*
 * One exchange without a socket, for in-process test clients: the request bytes go through the
 * real connection code (parser, body decoding, dispatch, response writer) on a connection whose
 * input is complete from the start (fd -1), driven by a private worker whose event loop runs
 * only while a handler is suspended.
 */
#include "http_internal.h"

int cadre_http_test_exchange(const cadre_server_config *c, cadre_dispatch_fn dispatch, void *ctx,
                             const char *raw, size_t len, int timeout_ms, cadre_buf *out)
{
    *out = (cadre_buf){ 0 };
    cadre__worker w;
    int rc = cadre__worker_init(&w, 0, c, dispatch, ctx);
    if (rc)
        return rc;
    cadre__conn *conn = cadre__conn_new(&w, -1);
    if (!conn) {
        cadre__worker_destroy(&w);
        return CADRE_ENOMEM;
    }
    conn->eof = true; /* everything the client sends is already here */
    cadre__buf_acquire(&w, &conn->in, conn->in.max);
    rc = cadre_buf_append(&conn->in, raw, len);
    if (rc == 0) {
        cadre__conn_process(conn);
        uint64_t give_up = w.now_ms + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
        while (!conn->dead && conn->slot && w.now_ms < give_up)
            cadre__worker_poll(&w, 100);
        if (!conn->dead && conn->slot)
            rc = CADRE_ETIMEDOUT;
    }
    *out = conn->out; /* the connection's output buffer changes hands */
    conn->out = (cadre_buf){ 0 };
    if (!conn->dead)
        cadre__conn_close(conn);
    cadre__worker_destroy(&w);
    return rc;
}
