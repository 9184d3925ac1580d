// What the browser tests share: a counted check, an app served on a free port, Chromium.
import { spawn } from "node:child_process";
import { chromium } from "playwright-core";

/** check(ok, what) counts; report(name) prints the tally and exits 0 or 1. */
export function checker() {
  let failed = 0, passed = 0;
  const check = (ok, what) => {
    if (ok) passed++;
    else { failed++; console.error(`FAIL: ${what}`); }
  };
  const fail = (err) => check(false, err.message ?? String(err));
  const report = (name) => {
    console.log(`${name}: ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  };
  return { check, fail, report };
}

/** Starts `bin serve --port 0 --workers 1 ...args` and resolves { server, base } once it logs
 *  that it listens (10 s at most). */
export async function serve(bin, args = [], env = process.env) {
  const server = spawn(bin, ["serve", "--port", "0", "--workers", "1", ...args],
                       { env, stdio: ["ignore", "ignore", "pipe"] });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start in 10 s")), 10000);
    let log = "";
    server.stderr.on("data", (d) => {
      log += d;
      const m = log.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server.on("exit", (code) => reject(new Error(`server exited with ${code}: ${log}`)));
  });
  return { server, base: `http://127.0.0.1:${port}` };
}

/** Debian's Chromium, headless, as the project's browser tests run it. */
export function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    timeout: 30000,
  });
}
