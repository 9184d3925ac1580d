// Auth's login and logout pages in headless Chromium (Debian's, driven by playwright-core): a
// page behind login sends the browser to the login form and back, a wrong password is said on
// the form, the session cookie is out of scripts' reach, logout ends the session.
//   node auth-browser.mjs AUTHAPP_BINARY [SCREENSHOT_DIR]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { checker, launch, serve } from "./harness.mjs";

const [bin, shots] = process.argv.slice(2);
const dir = mkdtempSync(path.join(tmpdir(), "cadre-auth-"));
const env = { ...process.env, CADRE_DATABASE_URL: `sqlite://${dir}/auth.db` };
const { check, fail, report } = checker();

const migrated = spawnSync(bin, ["migrate"], { env, encoding: "utf8", timeout: 30000 });
check(migrated.status === 0, `migrate (${migrated.stderr})`);
const made = spawnSync(bin, ["createsuperuser", "--noinput"], {
  env: { ...env, CADRE_SUPERUSER_USERNAME: "admin", CADRE_SUPERUSER_PASSWORD: "admin pass 1" },
  encoding: "utf8", timeout: 30000,
});
check(made.status === 0, `createsuperuser (${made.stderr})`);
const { server, base } = await serve(bin, [], env);
let browser;
try {
  browser = await launch();
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  // A page behind login: to the login form, next kept.
  await page.goto(`${base}/me?tab=1`, { timeout: 30000 });
  check(page.url() === `${base}/accounts/login/?next=/me%3Ftab%3D1`, `redirected to login (${page.url()})`);
  check((await page.title()) === "Log in", `title (${await page.title()})`);
  check(await page.$eval("#id_username", (el) => el === document.activeElement), "username has focus");
  check((await page.getAttribute("#id_password", "autocomplete")) === "current-password",
        "the password input says what it is to password managers");
  if (shots) await page.screenshot({ path: `${shots}/login.png` });

  // A wrong password: said on the form, the name kept, the password not.
  await page.fill("#id_username", "admin");
  await page.fill("#id_password", "not it");
  await Promise.all([page.waitForLoadState(), page.click("button[type=submit]")]);
  await page.waitForSelector("p.error", { timeout: 10000 });
  check((await page.textContent("p.error")).includes("Please enter a correct username and password"),
        "the error is on the page");
  check((await page.inputValue("#id_username")) === "admin", "the username comes back");
  check((await page.inputValue("#id_password")) === "", "the password does not");
  check(!(await context.cookies()).some((c) => c.name === "sessionid"), "no session after a failed login");
  if (shots) await page.screenshot({ path: `${shots}/login-error.png` });

  // The right one: back where it was going.
  await page.fill("#id_password", "admin pass 1");
  await Promise.all([page.waitForURL(`${base}/me?tab=1`, { timeout: 10000 }),
                     page.click("button[type=submit]")]);
  check((await page.textContent("body")).trim() === "admin", "the page behind login");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "sessionid");
  check(session && session.httpOnly && session.sameSite === "Lax",
        `the session cookie (${JSON.stringify(session)})`);
  const seen = await page.evaluate(() => document.cookie);
  check(!seen.includes("sessionid") && /^csrftoken=[A-Za-z0-9]{32}$/.test(seen),
        `scripts see the CSRF cookie only (${seen})`);

  // A script's POST without the token is refused; with X-CSRFToken (the cookie's value, as
  // Django's docs have scripts do) it logs out.
  const refused = await page.evaluate(async () =>
    (await fetch("/accounts/logout/", { method: "POST" })).status);
  check(refused === 403, `a POST without the CSRF token: ${refused}`);
  const loggedOut = await page.evaluate(async () => {
    const token = document.cookie.match(/csrftoken=([A-Za-z0-9]+)/)[1];
    const r = await fetch("/accounts/logout/", { method: "POST", headers: { "X-CSRFToken": token } });
    return { status: r.status, text: await r.text() };
  });
  check(loggedOut.status === 200 && loggedOut.text.includes("Logged out"),
        `logout with the token (${loggedOut.status})`);
  check(!(await context.cookies()).some((c) => c.name === "sessionid"), "the session cookie is gone");
  await page.goto(`${base}/me`);
  check(page.url().startsWith(`${base}/accounts/login/`), "logged out for real");
  check(errors.length === 0, `no script errors (${errors.join("; ")})`);
} catch (e) {
  fail(e);
} finally {
  await browser?.close();
  server.kill();
  rmSync(dir, { recursive: true, force: true });
}
report("auth-browser");
