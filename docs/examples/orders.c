/*
 * docs/tasks.md's example: an order is written and its receipt enqueued in one transaction; the
 * receipt is sent by a task on the server's own workers, retried if the mail server fails.
 *   ./orders makemigrations && ./orders migrate && ./orders serve
 *   curl -X POST 'http://127.0.0.1:8000/orders?email=ann@example.com&total=1250'
 *   ./orders tasks
 */
#include <cadre.h>

#include <stdio.h>

#define ORDER_FIELDS(F)                                                                            \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, email, CADRE_MAX_LEN(254))                                                           \
    F(int64, total, CADRE_DESCRIPTION("cents"))                                                    \
    F(bool, receipt_sent, CADRE_DEFAULT(false))
CADRE_MODEL(purchase, ORDER_FIELDS)

/* The task's arguments: declared once, checked when the job is enqueued and when it runs. */
#define RECEIPT_FIELDS(F) F(int64, order_id) F(string, email, CADRE_MAX_LEN(254))
CADRE_SCHEMA(receipt_args, RECEIPT_FIELDS)

static cadre_db *db;

/* Runs on a worker's coroutine: the database's calls (and any cadre_wait_fd on a socket, as an
 * SMTP client would make) suspend this job only. 0: done; a CADRE_E*: tried again later. */
static int send_receipt(cadre_job *job, const receipt_args *a)
{
    cadre_log(CADRE_LOG_INFO, "receipt for order %lld to %.*s (attempt %d)",
              (long long)a->order_id, (int)a->email.len, a->email.ptr, job->attempt);
    int rc = cadre_db_exec(db, "UPDATE purchase SET receipt_sent = ? WHERE id = ?",
                           (cadre_value[]){ CADRE_PINT(1), CADRE_PINT(a->order_id) }, 2, NULL, NULL);
    if (rc)
        return rc;
    return cadre_job_result(job, "sent");
}
CADRE_TASK(receipt, receipt_args, send_receipt, .queue = "mail", .max_attempts = 5);

/* POST /orders?email=…&total=…: the order and its receipt's job, both or neither */
static int create_order(cadre_request *r)
{
    cadre_slice email, total_text;
    int64_t total;
    if (!cadre_request_query(r, "email", &email) || !cadre_request_query(r, "total", &total_text) ||
        cadre_slice_to_i64(total_text, false, &total) != 0)
        return cadre_error(r, 400, "email and total (cents) are required");
    cadre_tx tx;
    int rc = cadre_db_begin(db, &tx);
    if (rc)
        return rc;
    purchase row;
    bool found;
    int64_t id = 0, job_id = 0;
    rc = cadre_tx_query_one(&tx, r->arena, CADRE_SCHEMA_OF(purchase), &row, &found,
                            "INSERT INTO purchase (email, total) VALUES (?, ?) RETURNING id",
                            (cadre_value[]){ CADRE_PSLICE(email), CADRE_PINT(total) }, 2);
    id = row.id;
    receipt_args args = { .order_id = id, .email = email };
    if (rc == 0)
        rc = cadre_enqueue(&tx, receipt, &args,
                           .unique = cadre_arena_printf(r->arena, "receipt:%lld", (long long)id),
                           .id = &job_id);
    if (rc) {
        cadre_tx_rollback(&tx);
        return rc;
    }
    if ((rc = cadre_tx_commit(&tx)) != 0)
        return rc;
    return cadre_text(r, 201, cadre_arena_printf(r->arena, "order %lld, receipt job %lld\n",
                                                 (long long)id, (long long)job_id));
}

int main(int argc, char **argv)
{
    if (cadre_db_open_env("sqlite://orders.db", &db) != 0)
        return 1;
    cadre_app *app = cadre_app_new("orders");
    cadre_models(app, db, "migrations", CADRE_SCHEMA_OF(purchase));
    cadre_tasks(app, db, .queues = "default,mail");
    cadre_task_add(app, &receipt);
    cadre_post(app, "/orders", create_order);
    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
