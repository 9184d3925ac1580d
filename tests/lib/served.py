"""An app under test serving on a free port, shared by the Python suites (tests/tasks, tests/ws):
started with `--port 0`, its port read from its "listening on" line, its log lines kept as they
come (a full pipe would block the server), stopped with bounded waits.

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from served import Served
"""
import re
import signal
import subprocess
import threading
import time


class Served:
    def __init__(self, argv, env=None, start_timeout=15):
        """argv: the command (its options include --port 0); env: its environment (None: ours)."""
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines, self.port = [], None
        self.cv = threading.Condition()
        deadline = time.monotonic() + start_timeout
        while self.port is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"listening on http://[^:\s]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
        if self.port is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{argv[0]} did not start:\n" + "".join(self.lines))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cv:
                self.lines.append(line)
                self.cv.notify_all()

    def wait_log(self, pattern, timeout=15):
        """Waits (bounded) for a log line matching pattern."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while not any(re.search(pattern, l) for l in self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no log line matching {pattern!r}:\n" +
                                         "".join(self.lines[-30:]))
                self.cv.wait(left)

    def sanitized(self):
        """Whether the server is an ASan build (its memory is then not what it would be)."""
        with open(f"/proc/{self.proc.pid}/maps") as f:
            return "libasan" in f.read()

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the server and waits for it (killed after timeout s); its last lines are in
        self.lines once it has exited."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        if not self.reader.is_alive():
            self.proc.stderr.close()
        # a sanitizer build's report (a leak found at exit, a use after free) fails the test
        report = [l for l in self.lines if "ERROR: AddressSanitizer" in l or
                  "ERROR: LeakSanitizer" in l or "runtime error:" in l]
        if report:
            raise AssertionError("the sanitizers reported:\n" + "".join(self.lines[-60:]))
