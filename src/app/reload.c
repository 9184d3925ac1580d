/*
 * serve --reload: the development loop. This process becomes a supervisor: it holds the listening
 * socket, runs the app as a child that serves on it (LISTEN_FDS, as systemd hands sockets over),
 * watches the project's sources (inotify; a scan every second where inotify is missing), and on a
 * change rebuilds with ninja. A good build starts a new child on the same socket and, once that
 * one listens, stops the old one gracefully: connections wait in the socket's queue meanwhile,
 * none is refused. A failed build leaves the last good binary serving, and its output is shown
 * to browsers (a file whose name the child gets in CADRE_RELOAD_ERRORS) until a build succeeds.
 */
#include "app_internal.h"

#include <cadre/json.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEBOUNCE_MS 150  /* editors write a file in several steps */
#define READY_MS 30000   /* a new child gets this long to listen */
#define MAX_WATCHES 4096
#define MAX_OUTPUT (256 * 1024)

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The directory of the Ninja build the binary was made in: its own, or one above it. */
static bool find_build_dir(const char *exe, char *out, size_t cap)
{
    snprintf(out, cap, "%s", exe);
    for (int up = 0; up < 8; up++) {
        char *slash = strrchr(out, '/');
        if (!slash || slash == out)
            return false;
        *slash = '\0';
        char probe[PATH_MAX + 16];
        snprintf(probe, sizeof probe, "%s/build.ninja", out);
        if (access(probe, R_OK) == 0)
            return true;
    }
    return false;
}

/* The source directory of a Meson build: meson-info/meson-info.json's directories.source. */
static bool find_source_dir(const char *build, char *out, size_t cap)
{
    char path[PATH_MAX + 40];
    snprintf(path, sizeof path, "%s/meson-info/meson-info.json", build);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char text[65536];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    cadre_json_reader rd;
    cadre_json_reader_init(&rd, text, n, &a, 0);
    cadre_json_token t;
    bool found = false;
    int depth = 0;
    bool in_dirs = false;
    while (!found && cadre_json_next(&rd, &t) == 0 && t.type != CADRE_JSON_END) {
        if (t.type == CADRE_JSON_OBJECT || t.type == CADRE_JSON_ARRAY)
            depth++;
        else if (t.type == CADRE_JSON_OBJECT_END || t.type == CADRE_JSON_ARRAY_END)
            in_dirs = --depth >= 2 && in_dirs; /* out of "directories": no more its keys */
        else if (t.type == CADRE_JSON_KEY && depth == 1)
            in_dirs = cadre_slice_eq_cstr(t.str, "directories");
        else if (t.type == CADRE_JSON_KEY && depth == 2 && in_dirs &&
                 cadre_slice_eq_cstr(t.str, "source") && cadre_json_next(&rd, &t) == 0 &&
                 t.type == CADRE_JSON_STRING && t.str.len && t.str.len < cap) {
            memcpy(out, t.str.ptr, t.str.len);
            out[t.str.len] = '\0';
            found = true;
        }
    }
    cadre_arena_free(&a);
    return found;
}

/* What a file's change is: a change of the sources to build (code, migrations, the build's own
 * files), of a template (which the app reads again itself: no build), or neither (a database
 * the app writes beside them, an editor's swap file). */
enum { CHANGE_NONE = 0, CHANGE_BUILD = 1, CHANGE_TEMPLATE = 2 };

static int change_kind(const char *name)
{
    if (name[0] == '.')
        return CHANGE_NONE;
    if (strcmp(name, "meson.build") == 0 || strcmp(name, "meson_options.txt") == 0)
        return CHANGE_BUILD;
    static const char *const templates[] = { ".html", ".txt", ".xml" }; /* as load_dir reads */
    static const char *const kinds[] = { ".c", ".h", ".json", ".css", ".js", ".sql", ".md" };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof templates / sizeof templates[0]; i++)
        if (strcmp(dot, templates[i]) == 0)
            return CHANGE_TEMPLATE;
    for (size_t i = 0; dot && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(dot, kinds[i]) == 0)
            return CHANGE_BUILD;
    return CHANGE_NONE;
}

/* Whether a directory of the sources is to be watched (not a build, not version control). */
static bool watched_dir(const char *path, const char *name)
{
    if (name[0] == '.' || strcmp(name, "node_modules") == 0 || strncmp(name, "build", 5) == 0)
        return false;
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof probe, "%s/build.ninja", path);
    return access(probe, F_OK) != 0;
}

typedef struct watcher {
    int fd; /* inotify, or -1: scanning */
    int wd[MAX_WATCHES];
    char *dirs[MAX_WATCHES];
    size_t n;
    time_t newest[3]; /* scanning: the newest modification seen, by change_kind */
} watcher;

/* Watches dir and the directories under it; for a scan, newest[kind] gets the newest mtime of
 * their files of each change_kind. */
static void watch_tree(watcher *w, const char *dir, int depth, time_t *newest)
{
    if (depth > 16)
        return;
    if (w->fd >= 0 && w->n < MAX_WATCHES) {
        int wd = inotify_add_watch(w->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
                                                   IN_MOVED_FROM | IN_ONLYDIR);
        if (wd >= 0) {
            w->wd[w->n] = wd;
            w->dirs[w->n++] = strdup(dir);
        }
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (watched_dir(path, e->d_name))
                watch_tree(w, path, depth + 1, newest);
        } else if (newest && st.st_mtime > newest[change_kind(e->d_name)]) {
            newest[change_kind(e->d_name)] = st.st_mtime;
        }
    }
    closedir(d);
}

/* What changed (CHANGE_BUILD and CHANGE_TEMPLATE bits): inotify events read (a new directory
 * watched too), or a scan. */
static int changed(watcher *w, const char *source)
{
    if (w->fd < 0) {
        time_t newest[3] = { 0 };
        watch_tree(w, source, 0, newest);
        int c = (newest[CHANGE_BUILD] > w->newest[CHANGE_BUILD] ? CHANGE_BUILD : 0) |
                (newest[CHANGE_TEMPLATE] > w->newest[CHANGE_TEMPLATE] ? CHANGE_TEMPLATE : 0);
        memcpy(w->newest, newest, sizeof newest);
        return c;
    }
    int c = 0;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(w->fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (!ev->len)
                continue;
            if (!(ev->mask & IN_ISDIR)) {
                c |= change_kind(ev->name);
                continue;
            }
            if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
                for (size_t i = 0; i < w->n; i++)
                    if (w->wd[i] == ev->wd) {
                        char path[PATH_MAX];
                        snprintf(path, sizeof path, "%s/%s", w->dirs[i], ev->name);
                        if (watched_dir(path, ev->name))
                            watch_tree(w, path, 1, NULL);
                        break;
                    }
            }
        }
    }
    return c;
}

/* Starts the app on the socket; *ready gets a descriptor that becomes readable (a byte, or the
 * end) when it listens or dies. */
static pid_t start_child(const char *exe, char **argv, int sock, const char *errors, int *ready)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char n[16], pidtext[24], fdtext[16];
        int rfd = fcntl(p[1], F_DUPFD, 4); /* first: p[1] may be descriptor 3 */
        if (rfd < 0 || (sock == 3 ? fcntl(3, F_SETFD, 0) != 0 : dup2(sock, 3) != 3))
            _exit(127); /* descriptor 3, the socket, not closed by exec */
        snprintf(n, sizeof n, "1");
        snprintf(pidtext, sizeof pidtext, "%ld", (long)getpid());
        snprintf(fdtext, sizeof fdtext, "%d", rfd);
        setenv("LISTEN_FDS", n, 1);
        setenv("LISTEN_PID", pidtext, 1);
        setenv("CADRE_READY_FD", fdtext, 1);
        setenv("CADRE_RELOAD_ERRORS", errors, 1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(exe, argv);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    *ready = p[0];
    return pid;
}

/* Waits until the child listens (true), dies or takes too long (false). */
static bool wait_ready(int ready)
{
    struct pollfd pfd = { .fd = ready, .events = POLLIN };
    bool ok = false;
    if (poll(&pfd, 1, READY_MS) == 1) {
        char c;
        ok = read(ready, &c, 1) == 1;
    }
    close(ready);
    return ok;
}

/* Runs ninja -C build; its output into out (capped). Returns its exit status, or -1. */
static int rebuild(const char *build, cadre_buf *out)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execlp("ninja", "ninja", "-C", build, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    char chunk[4096];
    ssize_t n;
    while ((n = read(p[0], chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0 && out->len < MAX_OUTPUT)
            cadre_buf_append(out, chunk, (size_t)n);
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_errors(const char *path, const cadre_buf *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        if (text)
            fwrite(text->data, 1, text->len, f);
        fclose(f);
    }
}

/* Stops a child gracefully (SIGTERM) without waiting: it finishes its requests meanwhile. */
static void retire(pid_t pid)
{
    if (pid > 0)
        kill(pid, SIGTERM);
}

int cadre__serve_reload(const cadre_server_config *cfg, int argc, char **argv)
{
    char exe[PATH_MAX], build[PATH_MAX], source[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 1;
    exe[n] = '\0';
    if (!find_build_dir(exe, build, sizeof build) || !find_source_dir(build, source, sizeof source)) {
        fprintf(stderr, "error: serve --reload rebuilds the app with ninja: %s is not in a Meson "
                        "build directory (meson setup build && ninja -C build, then "
                        "./build/APP serve --reload)\n", exe);
        return 1;
    }
    int port = 0;
    int sock = cadre_listen(cfg->host, cfg->port, &port);
    if (sock < 0)
        return 1; /* the reason logged */
    /* the child's arguments: serve's, without --reload, with --dev (a development loop) */
    char **cargv = calloc((size_t)argc + 3, sizeof *cargv);
    int k = 0;
    cargv[k++] = exe;
    bool dev = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--reload") == 0)
            continue;
        dev |= strcmp(argv[i], "--dev") == 0;
        cargv[k++] = argv[i];
    }
    if (!dev)
        cargv[k++] = "--dev";
    char errors[64];
    snprintf(errors, sizeof errors, "/tmp/cadre-reload-%ld.txt", (long)getpid());
    write_errors(errors, NULL);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

    watcher w = { .fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC) };
    watch_tree(&w, source, 0, w.newest);
    /* the children read the templates made from files in the project from those files */
    setenv("CADRE_RELOAD_SOURCE", source, 1);
    fprintf(stderr, "serve --reload: watching %s (%s), rebuilding with ninja -C %s, on "
                    "http://%s:%d\n", source, w.fd >= 0 ? "inotify" : "a scan every second",
            build, cfg->host, port);

    int ready;
    pid_t child = start_child(exe, cargv, sock, errors, &ready);
    if (child < 0 || !wait_ready(ready))
        fprintf(stderr, "serve --reload: the app did not start; fix it, then save a file\n");
    struct stat st;
    time_t built = stat(exe, &st) == 0 ? st.st_mtime : 0;
    long built_ns = stat(exe, &st) == 0 ? st.st_mtim.tv_nsec : 0;
    uint64_t pending = 0; /* when a change was seen, not yet built */
    int status = 0;
    for (;;) {
        struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN }, { .fd = w.fd, .events = POLLIN } };
        int timeout = pending ? DEBOUNCE_MS : w.fd < 0 ? 1000 : -1;
        int r = poll(pfd, w.fd >= 0 ? 2 : 1, timeout);
        if (r < 0 && errno != EINTR)
            break;
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            bool stop = false;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                stop |= si.ssi_signo != SIGCHLD;
            int ws;
            pid_t dead;
            while ((dead = waitpid(-1, &ws, WNOHANG)) > 0)
                if (dead == child) {
                    fprintf(stderr, "serve --reload: the app exited (%s %d); save a file to start "
                                    "it again\n", WIFSIGNALED(ws) ? "signal" : "status",
                            WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
                    child = -1;
                }
            if (stop)
                break;
        }
        int what = (w.fd >= 0 && (pfd[1].revents & POLLIN)) || (w.fd < 0 && r == 0)
                       ? changed(&w, source)
                       : 0;
        if (what & CHANGE_BUILD) {
            pending = now_ms();
            continue;
        }
        if (what == CHANGE_TEMPLATE) { /* the app reads it again at its next render */
            fprintf(stderr, "serve --reload: a template changed: the next page renders it (no "
                            "rebuild)\n");
            continue;
        }
        if (!pending || now_ms() - pending < DEBOUNCE_MS)
            continue;
        pending = 0;
        cadre_buf out;
        cadre_buf_init(&out, MAX_OUTPUT + 4096);
        uint64_t t0 = now_ms();
        int rc = rebuild(build, &out);
        if (rc != 0) {
            fprintf(stderr, "serve --reload: the build failed; the last good build keeps serving, "
                            "its pages show the errors:\n%.*s\n", (int)out.len, out.data ? out.data : "");
            write_errors(errors, &out);
            cadre_buf_free(&out);
            continue;
        }
        write_errors(errors, NULL);
        cadre_buf_free(&out);
        if (stat(exe, &st) != 0 ||
            (st.st_mtime == built && st.st_mtim.tv_nsec == built_ns && child > 0))
            continue; /* nothing of the binary changed */
        built = st.st_mtime;
        built_ns = st.st_mtim.tv_nsec;
        pid_t next = start_child(exe, cargv, sock, errors, &ready);
        if (next < 0 || !wait_ready(ready)) {
            fprintf(stderr, "serve --reload: the new build did not start; the last one keeps "
                            "serving\n");
            if (next > 0)
                retire(next);
            continue;
        }
        retire(child);
        child = next;
        fprintf(stderr, "serve --reload: rebuilt and restarted in %llu ms\n",
                (unsigned long long)(now_ms() - t0));
    }
    if (child > 0) {
        kill(child, SIGTERM);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    unlink(errors);
    for (size_t i = 0; i < w.n; i++)
        free(w.dirs[i]);
    free(cargv);
    close(sock);
    return status;
}

/* A reload child's pages while the last build failed: its output, for a browser (dev mode). */
bool cadre__reload_failed(cadre_request *r, const char *errors)
{
    struct stat st;
    if (!errors || stat(errors, &st) != 0 || st.st_size == 0)
        return false;
    cadre_slice accept = cadre_request_header(r, "Accept");
    if (!accept.ptr || !memmem(accept.ptr, accept.len, "text/html", 9))
        return false; /* a program's request: the last good build answers it */
    FILE *f = fopen(errors, "r");
    if (!f)
        return false;
    size_t cap = (size_t)st.st_size < MAX_OUTPUT ? (size_t)st.st_size : MAX_OUTPUT;
    char *text = cadre_alloc(r, cap + 1);
    size_t len = text ? fread(text, 1, cap, f) : 0;
    fclose(f);
    cadre_buf page;
    cadre_buf_init_arena(&page, r->arena, 2 * MAX_OUTPUT + 4096);
    cadre_buf_append_str(&page, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                                "<title>Build failed</title></head><body><h1>Build failed</h1>"
                                "<p>The last good build is serving; save a fix and this page "
                                "reloads into the app.</p><pre>");
    cadre_buf_append_html(&page, text ? text : "", len);
    cadre_buf_append_str(&page, "</pre></body></html>");
    cadre_respond_ref(r, 500, "text/html; charset=utf-8", page.data ? page.data : "", page.len);
    return true;
}
