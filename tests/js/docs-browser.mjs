// Opens /docs (Swagger UI) and /redoc of a Cadre app in headless Chromium (Debian's, driven by
// playwright-core), with the docs assets served locally by the app, and checks that every
// operation of /openapi.json is shown; then, with the CDN unreachable, that each page says so.
//   node docs-browser.mjs APP_BINARY
import { fileURLToPath } from "node:url";
import path from "node:path";
import { checker, launch, serve } from "./harness.mjs";

const bin = process.argv[2];
const here = path.dirname(fileURLToPath(import.meta.url));
const assets = path.join(here, "node_modules");
const { check, fail, report } = checker();
const { server, base } = await serve(bin, ["--docs-assets", assets]);
let browser;
try {
  const doc = await (await fetch(`${base}/openapi.json`)).json();
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) ops.push({ method, path: p, op });
  check(ops.length > 0, "the document has operations");

  browser = await launch();
  const page = await browser.newPage();
  const external = [];
  // Scripts, styles and data must come from the app itself (images such as ReDoc's footer logo
  // may point elsewhere; blob: URLs are the page's own).
  page.on("request", (req) => {
    const kind = req.resourceType();
    if (["script", "stylesheet", "fetch", "xhr", "document"].includes(kind) &&
        !req.url().startsWith(base) && !req.url().startsWith("blob:"))
      external.push(req.url());
  });

  // Swagger UI: one .opblock per operation, with its method and path.
  await page.goto(`${base}/docs`, { timeout: 30000 });
  await page.waitForSelector(".opblock", { timeout: 30000 });
  const shown = await page.$$eval(".opblock", (els) => els.map((el) => ({
    method: el.querySelector(".opblock-summary-method")?.textContent.trim().toLowerCase(),
    path: el.querySelector(".opblock-summary-path")?.getAttribute("data-path")
          ?? el.querySelector(".opblock-summary-path")?.textContent.trim(),
  })));
  check(shown.length === ops.length, `/docs shows ${shown.length} operations, the document has ${ops.length}`);
  for (const { method, path: p } of ops)
    check(shown.some((s) => s.method === method && s.path?.replace(/\u200b/g, "") === p),
          `/docs shows ${method.toUpperCase()} ${p}`);
  const title = await page.title();
  check(title.includes("Swagger UI"), `/docs title (${title})`);

  // ReDoc: every operation's summary (or its operation id) in the side menu.
  await page.goto(`${base}/redoc`, { timeout: 30000 });
  await page.waitForSelector("[role=menuitem], .menu-content", { timeout: 30000 });
  const text = await page.textContent("body");
  for (const { op } of ops)
    check(text.includes(op.summary ?? op.operationId), `/redoc shows ${op.summary ?? op.operationId}`);
  check(external.length === 0, `scripts and styles all came from the app (${external.slice(0, 3).join(", ")})`);

  // Without local assets the pages load their scripts from a CDN; when it cannot be reached (here
  // every request off 127.0.0.1 is refused) each page says so and what to do, not a blank page.
  const cdnApp = await serve(bin, []);
  try {
    const offline = await browser.newPage();
    const refused = [];
    await offline.route((url) => !url.href.startsWith(cdnApp.base), (route) => {
      refused.push(route.request().url());
      return route.abort("internetdisconnected");
    });
    for (const [where, what] of [["/docs", "Swagger UI"], ["/redoc", "ReDoc"]]) {
      await offline.goto(`${cdnApp.base}${where}`, { timeout: 30000 });
      const help = offline.locator("#cadre-docs-failed");
      await help.waitFor({ state: "visible", timeout: 30000 });
      const said = await help.textContent();
      check(said.includes("could not load") && said.includes(`${what}'s script`),
            `${where} without its CDN says what did not load`);
      check(said.includes("--docs-assets node_modules") && said.includes("/openapi.json"),
            `${where} without its CDN says what to do`);
      if (where === "/docs" && process.env.DOCS_SCREENSHOT)
        await offline.screenshot({ path: process.env.DOCS_SCREENSHOT, fullPage: true });
    }
    check(refused.some((u) => u.includes("cdn.jsdelivr.net")), "the pages asked the CDN first");
  } finally {
    cdnApp.server.kill("SIGTERM");
  }
} catch (err) {
  fail(err);
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
}
report("docs-browser");
