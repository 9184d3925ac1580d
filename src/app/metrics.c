/*
 * Metrics: one registry per app, shared by every worker thread (no per-worker skew), read as
 * Prometheus' text format (0.0.4) at GET /metrics. A metric's series (one per set of label
 * values) live in a fixed open-addressing table: found without a lock (atomic loads), added
 * under the registry's lock, never removed. Counts are atomic; a histogram's sum is a double
 * updated by compare-and-swap.
 *
 * Every app has http_requests_total{method,route,status} (the route pattern, never the raw
 * path), http_request_duration_seconds{method,route}, the requests in flight, the open
 * connections and the process's CPU, memory and descriptors; apps add their own.
 */
#include "app_internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERIES 4096 /* per metric; a power of two (the table is twice as big) */
#define MAX_BUCKETS 32
#define MAX_LABELS 8

typedef struct series {
    char *key;                     /* the label values, each followed by '\0' */
    size_t len;                    /* key's bytes */
    _Atomic uint64_t count;        /* a counter's value; a histogram's observations */
    _Atomic uint64_t sum_bits;     /* a histogram's sum, a double's bits */
    _Atomic uint64_t buckets[];    /* a histogram's: observations <= each bound */
} series;

struct cadre_metric {
    char *name, *help;
    char *labels[MAX_LABELS];
    size_t nlabels;
    bool histogram;
    double bounds[MAX_BUCKETS];
    size_t nbounds;
    _Atomic(series *) slots[2 * MAX_SERIES];
    _Atomic size_t nseries;
    atomic_bool dropped; /* said once */
    pthread_mutex_t *lock; /* the registry's */
};

typedef struct gauge {
    char *name, *help;
    double (*fn)(void *ctx);
    void *ctx;
    bool counter; /* a value that only grows, read by a function (process_cpu_seconds_total) */
} gauge;

struct cadre__metrics {
    pthread_mutex_t lock;
    CADRE_VEC(cadre_metric *) metrics;
    CADRE_VEC(gauge) gauges;
    cadre_metric *requests, *durations;
    char *allow, *token;
    bool off; /* serve --no-metrics: nothing counted, no /metrics */
};

/* OpenTelemetry's default explicit buckets, in seconds (its HTTP semantic conventions). */
static const double otel_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                       0.5,   0.75, 1,     2.5,  5,     7.5, 10 };

static bool name_ok(const char *n, bool label)
{
    if (!n || !*n || (n[0] >= '0' && n[0] <= '9'))
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              *n == '_' || (*n == ':' && !label)))
            return false;
    return true;
}

static bool taken(const struct cadre__metrics *m, const char *name)
{
    for (size_t i = 0; i < m->metrics.len; i++)
        if (strcmp(m->metrics.items[i]->name, name) == 0)
            return true;
    for (size_t i = 0; i < m->gauges.len; i++)
        if (strcmp(m->gauges.items[i].name, name) == 0)
            return true;
    return false;
}

static void metric_free(cadre_metric *m)
{
    for (size_t i = 0; i < 2 * MAX_SERIES; i++) {
        series *s = atomic_load(&m->slots[i]);
        if (s) {
            free(s->key);
            free(s);
        }
    }
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->name);
    free(m->help);
    free(m);
}

static cadre_metric *metric_new(cadre_app *app, const char *name, const char *help,
                                const char *labels, bool histogram, const double *bounds,
                                size_t nbounds)
{
    struct cadre__metrics *reg = app->metrics;
    if (!reg)
        return NULL;
    if (!name_ok(name, false) || nbounds > MAX_BUCKETS) {
        cadre_app_config_error(app, NULL, 0, "metric \"%s\": a name of [a-zA-Z_:][a-zA-Z0-9_:]*%s",
                               name ? name : "(null)", histogram ? ", at most 32 buckets" : "");
        return NULL;
    }
    for (size_t i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1])) {
            cadre_app_config_error(app, NULL, 0, "histogram %s: its bucket bounds must ascend",
                                   name);
            return NULL;
        }
    cadre_metric *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->lock = &reg->lock;
    m->histogram = histogram;
    m->nbounds = nbounds;
    if (nbounds)
        memcpy(m->bounds, bounds, nbounds * sizeof *bounds);
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    const char *p = labels;
    cadre_slice l;
    bool ok = m->name && m->help;
    while (ok && p && cadre_list_next(&p, &l)) {
        char *label = m->nlabels < MAX_LABELS ? strndup(l.ptr, l.len) : NULL;
        ok = label && name_ok(label, true) && strcmp(label, "le") != 0;
        if (label)
            m->labels[m->nlabels++] = label;
    }
    pthread_mutex_lock(&reg->lock);
    ok = ok && !taken(reg, name);
    cadre_metric **slot = ok ? CADRE_VEC_PUSH(&reg->metrics, NULL, 0) : NULL;
    if (slot)
        *slot = m;
    pthread_mutex_unlock(&reg->lock);
    if (!slot) {
        cadre_app_config_error(app, NULL, 0, "metric %s: a name taken already, or labels \"%s\" "
                               "that are not up to 8 names of [a-zA-Z_][a-zA-Z0-9_]* (not le)",
                               name, labels ? labels : "");
        metric_free(m);
        return NULL;
    }
    return m;
}

cadre_metric *cadre_counter(cadre_app *app, const char *name, const char *help, const char *labels)
{
    return metric_new(app, name, help, labels, false, NULL, 0);
}

cadre_metric *cadre_histogram(cadre_app *app, const char *name, const char *help,
                              const char *labels, const double *buckets, size_t nbuckets)
{
    if (!buckets) {
        buckets = otel_buckets;
        nbuckets = sizeof otel_buckets / sizeof *otel_buckets;
    }
    return metric_new(app, name, help, labels, true, buckets, nbuckets);
}

/* The series of key (len bytes) in m's table, or NULL; *empty gets the first empty slot on its
 * probe line (SIZE_MAX: none). Safe without the lock: slots only ever go from NULL to a series. */
static series *find(cadre_metric *m, const char *key, size_t len, uint64_t h, size_t *empty)
{
    size_t mask = 2 * MAX_SERIES - 1;
    *empty = SIZE_MAX;
    for (size_t i = h & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
        series *s = atomic_load_explicit(&m->slots[i], memory_order_acquire);
        if (!s) {
            *empty = i;
            return NULL;
        }
        if (s->len == len && memcmp(s->key, key, len) == 0)
            return s;
    }
    return NULL;
}

/* The series of those label values (given up to the first NULL; the ones missing are ""), made
 * the first time (NULL: the metric has MAX_SERIES already, or out of memory). Its key is the
 * values, each ended by '\0'. */
static series *series_of(cadre_metric *m, const char *const *labels)
{
    char key[1024];
    size_t len = 0;
    bool ended = !labels;
    for (size_t i = 0; i < m->nlabels; i++) {
        ended = ended || !labels[i];
        const char *v = ended ? "" : labels[i];
        size_t n = strlen(v);
        size_t room = sizeof key - len - (m->nlabels - i); /* a '\0' for each value left */
        if (n > room) /* values too long for labels: cut */
            n = room;
        memcpy(key + len, v, n);
        len += n;
        key[len++] = '\0';
    }
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211u;
    size_t empty;
    series *found = find(m, key, len, h, &empty);
    if (found)
        return found;
    /* not there: add it, under the lock (another thread may have meanwhile) */
    pthread_mutex_lock(m->lock);
    found = find(m, key, len, h, &empty);
    if (!found && empty != SIZE_MAX && atomic_load(&m->nseries) < MAX_SERIES) {
        found = calloc(1, sizeof *found + (m->histogram ? m->nbounds : 0) * sizeof(uint64_t));
        char *k = found ? malloc(len ? len : 1) : NULL;
        if (k) {
            memcpy(k, key, len);
            found->key = k;
            found->len = len;
            atomic_store_explicit(&m->slots[empty], found, memory_order_release);
            atomic_fetch_add(&m->nseries, 1);
        } else {
            free(found);
            found = NULL;
        }
    }
    pthread_mutex_unlock(m->lock);
    if (!found && !atomic_exchange(&m->dropped, true))
        cadre_log(CADRE_LOG_WARN, "metric %s: more than %d series (label values): the new ones "
                                  "are not counted", m->name, MAX_SERIES);
    return found;
}

void cadre_counter_add(cadre_metric *m, uint64_t n, const char *const *labels)
{
    series *s = m && !m->histogram ? series_of(m, labels) : NULL;
    if (s)
        atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

void cadre_histogram_observe(cadre_metric *m, double v, const char *const *labels)
{
    series *s = m && m->histogram && !isnan(v) ? series_of(m, labels) : NULL;
    if (!s)
        return;
    for (size_t i = 0; i < m->nbounds; i++)
        if (v <= m->bounds[i]) {
            atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
            break; /* cumulative when written */
        }
    uint64_t old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed), next;
    do {
        double sum;
        memcpy(&sum, &old, sizeof sum);
        sum += v;
        memcpy(&next, &sum, sizeof next);
    } while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old, next,
                                                    memory_order_relaxed, memory_order_relaxed));
    atomic_fetch_add_explicit(&s->count, 1, memory_order_release);
}

/* A value read by fn when /metrics is asked; counter: typed a counter (it only grows). */
static int read_on_scrape(cadre_app *app, const char *name, const char *help,
                          double (*fn)(void *ctx), void *ctx, bool counter)
{
    struct cadre__metrics *reg = app->metrics;
    if (!reg || !fn || !name_ok(name, false))
        return CADRE_EINVAL;
    gauge g = { strdup(name), strdup(help ? help : ""), fn, ctx, counter };
    pthread_mutex_lock(&reg->lock);
    int rc = !g.name || !g.help ? CADRE_ENOMEM : taken(reg, name) ? CADRE_EEXIST : 0;
    gauge *slot = rc == 0 ? CADRE_VEC_PUSH(&reg->gauges, NULL, 0) : NULL;
    if (slot)
        *slot = g;
    else if (rc == 0)
        rc = CADRE_ENOMEM;
    pthread_mutex_unlock(&reg->lock);
    if (rc) {
        free(g.name);
        free(g.help);
    }
    return rc;
}

int cadre_gauge(cadre_app *app, const char *name, const char *help, double (*fn)(void *ctx),
                void *ctx)
{
    return read_on_scrape(app, name, help, fn, ctx, false);
}

int cadre_counter_fn(cadre_app *app, const char *name, const char *help, double (*fn)(void *ctx),
                     void *ctx)
{
    return read_on_scrape(app, name, help, fn, ctx, true);
}

/* ---------------------------------------------------------------------------------------------
 * The text format
 * ------------------------------------------------------------------------------------------- */

/* A label value or help text, escaped as the format asks (\\, \n, and \" in values). */
static void put_escaped(cadre_buf *b, const char *s, size_t n, bool quote)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\')
            cadre_buf_append(b, "\\\\", 2);
        else if (c == '\n')
            cadre_buf_append(b, "\\n", 2);
        else if (c == '"' && quote)
            cadre_buf_append(b, "\\\"", 2);
        else
            cadre_buf_append(b, &c, 1);
    }
}

/* A value as the format writes it: +Inf, NaN, an integer without a point, else the shortest
 * text that reads back the same. */
static void format_double(char out[40], double v)
{
    if (isinf(v))
        snprintf(out, 40, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        snprintf(out, 40, "NaN");
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        snprintf(out, 40, "%lld", (long long)v);
    else
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, 40, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
}

static void put_double(cadre_buf *b, double v)
{
    char text[40];
    format_double(text, v);
    cadre_buf_append_str(b, text);
}

/* {a="x",b="y"[,le="..."]} for a series' key; nothing when there are no labels and no le. */
static void put_labels(cadre_buf *b, const cadre_metric *m, const series *s, const char *le)
{
    if (!m->nlabels && !le)
        return;
    cadre_buf_append(b, "{", 1);
    const char *v = s->key;
    for (size_t i = 0; i < m->nlabels; i++) {
        size_t n = strlen(v);
        cadre_buf_appendf(b, "%s%s=\"", i ? "," : "", m->labels[i]);
        put_escaped(b, v, n, true);
        cadre_buf_append(b, "\"", 1);
        v += n + 1;
    }
    if (le)
        cadre_buf_appendf(b, "%sle=\"%s\"", m->nlabels ? "," : "", le);
    cadre_buf_append(b, "}", 1);
}

static void put_head(cadre_buf *b, const char *name, const char *help, const char *type)
{
    cadre_buf_appendf(b, "# HELP %s ", name);
    put_escaped(b, help, strlen(help), false);
    cadre_buf_appendf(b, "\n# TYPE %s %s\n", name, type);
}

static void put_metric(cadre_buf *b, const cadre_metric *m)
{
    put_head(b, m->name, m->help, m->histogram ? "histogram" : "counter");
    for (size_t i = 0; i < 2 * MAX_SERIES; i++) {
        const series *s = atomic_load_explicit(&m->slots[i], memory_order_acquire);
        if (!s)
            continue;
        uint64_t count = atomic_load_explicit(&s->count, memory_order_acquire);
        if (!m->histogram) {
            cadre_buf_append_str(b, m->name);
            put_labels(b, m, s, NULL);
            cadre_buf_appendf(b, " %llu\n", (unsigned long long)count);
            continue;
        }
        uint64_t cum = 0;
        char le[40];
        for (size_t k = 0; k < m->nbounds; k++) {
            cum += atomic_load_explicit(&s->buckets[k], memory_order_relaxed);
            format_double(le, m->bounds[k]);
            cadre_buf_appendf(b, "%s_bucket", m->name);
            put_labels(b, m, s, le);
            cadre_buf_appendf(b, " %llu\n", (unsigned long long)(cum < count ? cum : count));
        }
        cadre_buf_appendf(b, "%s_bucket", m->name);
        put_labels(b, m, s, "+Inf");
        cadre_buf_appendf(b, " %llu\n%s_sum", (unsigned long long)count, m->name);
        put_labels(b, m, s, NULL);
        uint64_t bits = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
        double sum;
        memcpy(&sum, &bits, sizeof sum);
        cadre_buf_append(b, " ", 1);
        put_double(b, sum);
        cadre_buf_appendf(b, "\n%s_count", m->name);
        put_labels(b, m, s, NULL);
        cadre_buf_appendf(b, " %llu\n", (unsigned long long)count);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The built-in gauges
 * ------------------------------------------------------------------------------------------- */

static double in_flight(void *ctx)
{
    return (double)atomic_load(&((cadre_app *)ctx)->in_flight);
}

static double open_connections(void *ctx)
{
    (void)ctx;
    return (double)cadre_server_connections();
}

static double cpu_seconds(void *ctx)
{
    (void)ctx;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double resident_bytes(void *ctx)
{
    (void)ctx;
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    int n = f ? fscanf(f, "%llu %llu", &size, &resident) : 0;
    if (f)
        fclose(f);
    return n == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) : NAN;
}

static double open_fds(void *ctx)
{
    (void)ctx;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return NAN;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* not the one reading the directory */
}

static double max_fds(void *ctx)
{
    (void)ctx;
    struct rlimit rl;
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (double)rl.rlim_cur : NAN;
}

static double start_time(void *ctx)
{
    return (double)((cadre_app *)ctx)->started_at;
}

/* ---------------------------------------------------------------------------------------------
 * Who may read them, and the route
 * ------------------------------------------------------------------------------------------- */

/* Whether addr is in net ("10.0.0.0/8", "::1", "192.168.1.5"). */
static bool in_network(const char *addr, cadre_slice net)
{
    char text[64];
    if (net.len == 0 || net.len >= sizeof text)
        return false;
    memcpy(text, net.ptr, net.len);
    text[net.len] = '\0';
    char *slash = strchr(text, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        bits = strtol(slash + 1, &end, 10);
        if (*end || bits < 0)
            return false;
    }
    unsigned char a[16], n[16];
    bool v6 = strchr(text, ':') != NULL;
    int family = v6 ? AF_INET6 : AF_INET;
    size_t size = v6 ? 16 : 4;
    if (bits < 0)
        bits = (long)size * 8;
    if (bits > (long)size * 8 || inet_pton(family, text, n) != 1 ||
        inet_pton(family, addr, a) != 1)
        return false;
    for (long i = 0; i < bits; i++)
        if (((a[i / 8] ^ n[i / 8]) >> (7 - i % 8)) & 1)
            return false;
    return true;
}

static bool allowed(cadre_request *r, const struct cadre__metrics *reg)
{
    cadre_slice auth = cadre_request_header(r, "Authorization");
    if (reg->token && *reg->token && auth.len > 7 &&
        cadre_slice_ieq_cstr((cadre_slice){ auth.ptr, 7 }, "Bearer ")) {
        size_t n = strlen(reg->token);
        if (auth.len - 7 == n) {
            unsigned char diff = 0; /* the same time whatever matches */
            for (size_t i = 0; i < n; i++)
                diff |= (unsigned char)(auth.ptr[7 + i] ^ reg->token[i]);
            if (diff == 0)
                return true;
        }
    }
    char peer[CADRE_PEER_SIZE], client[CADRE_PEER_SIZE];
    if (!cadre_request_peer(r, peer))
        return true; /* no socket: the in-process test client, the app's own code */
    cadre_request_client(r, client);
    /* through a proxy the app does not trust, the client is unknown: not the machine itself */
    bool forwarded = cadre_request_header(r, "X-Forwarded-For").ptr ||
                     cadre_request_header(r, "Forwarded").ptr;
    if (forwarded && strcmp(client, peer) == 0)
        return false;
    const char *p = "127.0.0.0/8,::1";
    cadre_slice net;
    while (cadre_list_next(&p, &net))
        if (in_network(client, net))
            return true;
    for (p = reg->allow; p && cadre_list_next(&p, &net);)
        if (in_network(client, net))
            return true;
    return false;
}

static int metrics_page(cadre_request *r)
{
    cadre_app *app = cadre_request_app(r);
    struct cadre__metrics *reg = app->metrics;
    if (!allowed(r, reg))
        return cadre_error(r, 403, "The metrics are for this machine, its allowed networks "
                                   "(CADRE_METRICS_ALLOW) or a bearer token "
                                   "(CADRE_METRICS_TOKEN).");
    cadre_buf b;
    cadre_buf_init_arena(&b, r->arena, (size_t)64 << 20);
    /* the lists as they are now (a metric added meanwhile may move them), not the counts:
     * metrics and their names live as long as the app */
    pthread_mutex_lock(&reg->lock);
    size_t nm = reg->metrics.len, ng = reg->gauges.len;
    cadre_metric **ms = cadre_alloc(r, (nm + 1) * sizeof *ms);
    gauge *gs = cadre_alloc(r, (ng + 1) * sizeof *gs);
    if (ms && gs) {
        memcpy(ms, reg->metrics.items, nm * sizeof *ms);
        memcpy(gs, reg->gauges.items, ng * sizeof *gs);
    }
    pthread_mutex_unlock(&reg->lock);
    if (!ms || !gs)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < nm; i++)
        put_metric(&b, ms[i]);
    for (size_t i = 0; i < ng; i++) {
        const gauge *g = &gs[i];
        put_head(&b, g->name, g->help, g->counter ? "counter" : "gauge");
        cadre_buf_appendf(&b, "%s ", g->name);
        put_double(&b, g->fn(g->ctx));
        cadre_buf_append(&b, "\n", 1);
    }
    cadre_set_header(r, "Cache-Control", "no-store");
    return cadre_respond_ref(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
}

/* Every response: its count by method, route and status, its duration by method and route. */
static void on_response(cadre_request *r, int status, uint64_t bytes, uint64_t elapsed_us, void *ctx)
{
    (void)bytes;
    struct cadre__metrics *reg = ctx;
    /* the standard methods by name, any other as _OTHER (OpenTelemetry's): a client inventing
     * methods must not invent series */
    static const char *const methods[] = { "GET",     "HEAD",    "POST",  "PUT",    "PATCH",
                                           "DELETE",  "OPTIONS", "TRACE", "CONNECT" };
    const char *method = "_OTHER";
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        if (cadre_slice_eq_cstr(r->head.method, methods[i])) {
            method = methods[i];
            break;
        }
    char code[8];
    code[0] = (char)('0' + status / 100 % 10);
    code[1] = (char)('0' + status / 10 % 10);
    code[2] = (char)('0' + status % 10);
    code[3] = '\0';
    const char *route = r->route ? r->route : "(unmatched)"; /* never the raw path */
    cadre_counter_add(reg->requests, 1, CADRE_LABELS(method, route, code));
    cadre_histogram_observe(reg->durations, (double)elapsed_us / 1e6, CADRE_LABELS(method, route));
}

void cadre__metrics_off(cadre_app *app)
{
    if (!app->metrics)
        return;
    app->metrics->off = true;
    cadre__routes_remove(app, metrics_page);
    /* and its response hook: with no other, the server does not time responses at all */
    size_t k = 0;
    for (size_t i = 0; i < app->on_response.len; i++)
        if (app->on_response.items[i].fn != on_response)
            app->on_response.items[k++] = app->on_response.items[i];
    app->on_response.len = k;
}

bool cadre__metrics_on(const cadre_app *app)
{
    return app->metrics && !app->metrics->off;
}

int cadre__app_metrics(cadre_app *app, const cadre_metrics_opts *o)
{
    struct cadre__metrics *reg = app->metrics;
    if (!reg)
        return CADRE_ENOMEM;
    if (o->allow) {
        free(reg->allow);
        reg->allow = strdup(o->allow);
    }
    if (o->token) {
        free(reg->token);
        reg->token = strdup(o->token);
    }
    if (o->path) {
        cadre__routes_remove(app, metrics_page);
        int rc = cadre__route_builtin(app, o->path, metrics_page);
        if (rc)
            return rc;
    }
    return 0;
}

void cadre__metrics_install(cadre_app *app)
{
    struct cadre__metrics *reg = calloc(1, sizeof *reg);
    if (!reg)
        return;
    pthread_mutex_init(&reg->lock, NULL);
    app->metrics = reg;
    app->started_at = time(NULL);
    reg->requests = cadre_counter(app, "http_requests_total", "HTTP requests answered, by method, "
                                  "route pattern and status.", "method,route,status");
    reg->durations = cadre_histogram(app, "http_request_duration_seconds", "Time from a "
                                     "request's head to its queued response, by method and "
                                     "route pattern.", "method,route", NULL, 0);
    cadre_gauge(app, "http_requests_in_flight", "Requests being handled now.", in_flight, app);
    cadre_gauge(app, "http_connections_open", "Client connections open now.", open_connections,
                NULL);
    read_on_scrape(app, "process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                   cpu_seconds, NULL, true);
    cadre_gauge(app, "process_resident_memory_bytes", "Resident memory size, in bytes.",
                resident_bytes, NULL);
    cadre_gauge(app, "process_open_fds", "Open file descriptors.", open_fds, NULL);
    cadre_gauge(app, "process_max_fds", "The limit of open file descriptors.", max_fds, NULL);
    cadre_gauge(app, "process_start_time_seconds", "Start time of the process since the epoch, "
                "in seconds.", start_time, app);
    const char *allow = getenv("CADRE_METRICS_ALLOW");
    reg->allow = allow && *allow ? strdup(allow) : NULL;
    reg->token = cadre_env_secret("CADRE_METRICS_TOKEN", NULL); /* or CADRE_METRICS_TOKEN_FILE */
    cadre__app_metrics(app, &(cadre_metrics_opts){ .path = "/metrics" });
    cadre_app_on_response(app, on_response, reg);
}

void cadre__metrics_free(cadre_app *app)
{
    struct cadre__metrics *reg = app->metrics;
    if (!reg)
        return;
    for (size_t i = 0; i < reg->metrics.len; i++)
        metric_free(reg->metrics.items[i]);
    for (size_t i = 0; i < reg->gauges.len; i++) {
        free(reg->gauges.items[i].name);
        free(reg->gauges.items[i].help);
    }
    CADRE_VEC_FREE(&reg->metrics);
    CADRE_VEC_FREE(&reg->gauges);
    free(reg->allow);
    free(reg->token);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}
