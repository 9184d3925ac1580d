"""serve --reload in a project made by cadre new: an edit served within seconds with no request
refused meanwhile, a compile error shown to browsers while the last good build serves, the fix
served again; a template's edit served without a rebuild, its error shown to browsers; and SIGTERM
ending it all.
    reload_check.py PROJECT_DIR NAME"""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

root, name = sys.argv[1], sys.argv[2]
app_c = os.path.join(root, "src", "app.c")
home_html = os.path.join(root, "templates", "home.html")
binary = os.path.join(root, "build", name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


port = free_port()


def get(path, accept="application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept": accept})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def until(what, check, seconds):
    """Polls check() (bounded) until it is true; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if check():
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"FAIL: {what} within {seconds} s")


log = open(os.path.join(root, "..", "reload.log"), "wb")
proc = subprocess.Popen([f"./build/{name}", "serve", "--reload", "--port", str(port)], cwd=root,
                        stdout=log, stderr=subprocess.STDOUT)
try:
    until("the app answers", lambda: get("/api/items")[0] == 401, 30)
    # a client asking all along: not one request may fail
    errors, answered, stop = [], [0], threading.Event()

    def client():
        while not stop.is_set():
            try:
                status, _ = get("/api/items")
                if status != 401:
                    errors.append(status)
                answered[0] += 1
            except OSError as e:
                errors.append(repr(e))
    t = threading.Thread(target=client)
    t.start()
    source = open(app_c).read()
    edited = source.replace(f"cadre_app *{name}_app(", "static int version(cadre_request *r)\n{\n"
                            "    return cadre_text(r, 200, \"v2\");\n}\n\n"
                            "static int page(cadre_request *r)\n{\n"
                            "    return cadre_render(r, 200, \"home.html\", CADRE_CTX_NONE);\n}\n\n"
                            f"cadre_app *{name}_app(", 1)
    edited = re.sub(r"(    cadre_get\(app, \"/\", home)",
                    "    cadre_get(app, \"/version\", version);\n"
                    "    cadre_get(app, \"/page\", page);\n\\1", edited, count=1)
    assert edited != source
    with open(app_c, "w") as f:
        f.write(edited)
    took = until("the edit served", lambda: get("/version") == (200, "v2"), 60)
    time.sleep(0.5)  # the client goes on across the old build's retirement
    stop.set()
    t.join(15)
    if errors:
        sys.exit(f"FAIL: requests failed across the reload: {errors[:5]}")
    print(f"ok: the edit served {took:.2f} s after the save, {answered[0]} requests meanwhile, none failed")
    # a compile error: shown to a browser, the last good build serving the rest
    with open(app_c, "w") as f:
        f.write(edited + "\nthis is not C;\n")
    until("the build error shown", lambda: (lambda s: s[0] == 500 and "Build failed" in s[1] and
                                            "error" in s[1])(get("/", "text/html")), 60)
    if get("/version") != (200, "v2"):
        sys.exit("FAIL: the last good build does not serve while the build is broken")
    with open(app_c, "w") as f:
        f.write(edited)
    until("the fix served", lambda: get("/", "text/html")[0] in (302, 303), 60)
    print("ok: a compile error shown to browsers, the last good build serving; the fix served")
    # a template: the running app reads it again; nothing is rebuilt or restarted
    until("the page served", lambda: get("/page", "text/html")[0] == 200, 30)
    built = os.stat(binary).st_mtime_ns
    html = open(home_html).read()
    with open(home_html, "w") as f:
        f.write(html.replace("<h1>Items</h1>", "<h1>Items, edited</h1>"))
    took = until("the template's edit served",
                 lambda: "<h1>Items, edited</h1>" in get("/page", "text/html")[1], 10)
    if os.stat(binary).st_mtime_ns != built:
        sys.exit("FAIL: a template's edit rebuilt the binary")
    with open(home_html, "w") as f:
        f.write(html.replace("<h1>Items</h1>", "<h1>{{ broken </h1>"))
    until("the template error shown", lambda: (lambda s: s[0] == 500 and "Template error" in s[1]
                                               and "home.html:3:" in s[1])(get("/page", "text/html")), 10)
    with open(home_html, "w") as f:
        f.write(html)
    until("the template's fix served", lambda: "<h1>Items</h1>" in get("/page", "text/html")[1], 10)
    print(f"ok: a template's edit served {took:.2f} s after the save with no rebuild; its error "
          "shown to browsers, then the fix")
finally:
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit("FAIL: serve --reload did not stop on SIGTERM")
if code != 0:
    sys.exit(f"FAIL: serve --reload exited {code}")
try:
    get("/api/items")
    sys.exit("FAIL: something still answers after SIGTERM")
except OSError:
    pass
print("ok: SIGTERM stops the supervisor and its app")
