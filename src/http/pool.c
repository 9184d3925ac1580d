/*
 * A pool of threads for blocking work (a password hash, a call into a blocking library): the
 * request that asks waits on an eventfd with cadre_wait_fd, so only its coroutine is suspended
 * and its worker goes on serving others.
 *
 * A job is self-contained: its argument is copied in (fn never follows pointers into the
 * request's arena) and copied back when it is done. It has two owners, the request waiting for it
 * and the pool running it; whichever lets go last frees it. A request abandoned at shutdown lets go
 * in its deferred cleanup while the pool may still be running the job, which then frees it.
 */
#include "cadre/base.h"
#include "cadre/http.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct pool_job {
    void (*fn)(void *arg);
    int efd;
    atomic_int refs;  /* 2 while both the request and the pool hold it */
    atomic_bool done; /* fn has returned: arg holds the result */
    struct pool_job *next;
    _Alignas(max_align_t) unsigned char arg[];
} pool_job;

struct cadre_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pool_job *head, *tail; /* waiting to run, oldest first */
    size_t waiting, max_waiting;
    bool stop;
    unsigned nthreads;
    pthread_t threads[];
};

static void job_release(pool_job *j)
{
    if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1) {
        close(j->efd);
        free(j);
    }
}

static void *pool_main(void *p_)
{
    cadre_pool *p = p_;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        pool_job *j = p->head;
        if (!j) { /* stopping, nothing left */
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->waiting--;
        pthread_mutex_unlock(&p->mu);

        j->fn(j->arg);
        atomic_store_explicit(&j->done, true, memory_order_release);
        uint64_t one = 1;
        ssize_t n;
        do /* an eventfd write of 1 fails only on overflow, which one write cannot reach */
            n = write(j->efd, &one, sizeof one);
        while (n < 0 && errno == EINTR);
        job_release(j);
    }
}

int cadre_pool_new(unsigned threads, size_t max_waiting, cadre_pool **out)
{
    *out = NULL;
    if (threads == 0 || threads > 256 || max_waiting == 0)
        return CADRE_EINVAL;
    cadre_pool *p = calloc(1, sizeof *p + threads * sizeof p->threads[0]);
    if (!p)
        return CADRE_ENOMEM;
    p->max_waiting = max_waiting;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* the threads take no signal: a SIGTERM made for the server's graceful stop must not land
     * on one of them (a pool made before the server blocks its signals, as auth's is, would
     * otherwise have the process killed outright) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < threads && rc == 0; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0)
            rc = CADRE_ESYSTEM;
        else
            p->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        cadre_pool_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void cadre_pool_free(cadre_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++) /* they finish what is queued, then return */
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* The request's hold on its job, let go when the request ends however it ends. */
static void job_drop(void *holder)
{
    pool_job **h = holder;
    if (*h) {
        job_release(*h);
        *h = NULL;
    }
}

int cadre_pool_run(cadre_pool *p, void (*fn)(void *arg), void *arg, size_t size)
{
    cadre_request *r = cadre_current_request();
    if (!p || !r) { /* start-up code, a command: nothing else to serve meanwhile */
        fn(arg);
        return 0;
    }
    pool_job *j = malloc(sizeof *j + size);
    if (!j)
        return CADRE_ENOMEM;
    j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (j->efd < 0) {
        free(j);
        return CADRE_ESYSTEM;
    }
    j->fn = fn;
    j->next = NULL;
    atomic_init(&j->refs, 2);
    atomic_init(&j->done, false);
    memcpy(j->arg, arg, size);
    pool_job **holder = cadre_alloc(r, sizeof *holder);
    *holder = j;

    pthread_mutex_lock(&p->mu);
    if (p->waiting >= p->max_waiting || p->stop) {
        pthread_mutex_unlock(&p->mu);
        close(j->efd);
        free(j);
        return CADRE_EBUSY;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->waiting++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    cadre_request_defer(r, job_drop, holder);

    /* Bounded: each turn waits for the eventfd, which the pool writes once fn has returned; a
     * turn ends early only when another request wakes this one (cadre_wake), which is rare. */
    while (!atomic_load_explicit(&j->done, memory_order_acquire)) {
        int rc = cadre_wait_fd(r, j->efd, CADRE_WAIT_READ, -1);
        if (rc) /* ETIMEDOUT: the request's deadline (the job finishes on its own, dropped by
                   the defer); ESTATE cannot happen with a current request */
            return rc;
    }
    memcpy(arg, j->arg, size);
    job_drop(holder);
    return 0;
}
