// The inventory example's server-rendered pages in headless Chromium (Debian's, driven by
// playwright-core): the products page, the supplier form (browser-side constraints, the server's
// errors beside the field, Post/Redirect/Get), markup in data staying text, the admin (its list
// following stock changes live over a WebSocket, forms, inlines, export, actions, history).
//   node pages-browser.mjs INVENTORY_BINARY
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { checker, launch, serve } from "./harness.mjs";

const bin = process.argv[2];
const dir = mkdtempSync(path.join(tmpdir(), "cadre-pages-"));
const env = { ...process.env, CADRE_DATABASE_URL: `sqlite://${dir}/pages.db` };
const { check, fail, report } = checker();
if (process.env.CADRE_SCREENSHOTS) mkdirSync(process.env.CADRE_SCREENSHOTS, { recursive: true });

const migrated = spawnSync(bin, ["migrate"], { env, encoding: "utf8", timeout: 30000 });
check(migrated.status === 0, `migrate (${migrated.stderr})`);
const made = spawnSync(bin, ["createsuperuser", "--noinput"], {
  env: { ...env, CADRE_SUPERUSER_USERNAME: "ops", CADRE_SUPERUSER_PASSWORD: "ops pass 12" },
  encoding: "utf8", timeout: 30000 });
check(made.status === 0, `createsuperuser (${made.stderr})`);
const { server, base } = await serve(bin, [], env);
let browser;
try {
  browser = await launch();
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // (resource statuses are not script errors: the 422 of a refused form, /favicon.ico's 404)
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });

  // Not logged in: the login page, which comes back to the list.
  await page.goto(`${base}/`, { timeout: 30000 });
  check(page.url() === `${base}/accounts/login/?next=/`, `sent to log in (${page.url()})`);
  await page.fill("#id_username", "ops");
  await page.fill("#id_password", "ops pass 12");
  await Promise.all([page.waitForURL(`${base}/`, { timeout: 10000 }), page.click("button[type=submit]")]);

  // The empty list.
  check((await page.title()) === "Products · Inventory", `title (${await page.title()})`);
  check((await page.textContent("main")).includes("No products yet"), "the empty list says so");

  // The form: the browser refuses an empty required name before anything is sent.
  await page.click("text=New supplier");
  await page.waitForURL(`${base}/suppliers/new`, { timeout: 10000 });
  let posted = 0;
  page.on("request", (req) => { if (req.method() === "POST") posted++; });
  await page.click("main button[type=submit]");
  check(posted === 0, "an empty required field is stopped by the browser");
  check(await page.$eval("#id_name", (el) => !el.validity.valid), "the name input is invalid");

  // Created: 303 to the list.
  const evil = "<img src=x onerror=\"window.__pwned=1\">Acme";
  await page.fill("#id_name", evil);
  await Promise.all([page.waitForURL(`${base}/`, { timeout: 10000 }), page.click("main button[type=submit]")]);
  check(posted === 1, `one POST (${posted})`);

  // The same name again: the server's error beside the field, what was typed kept.
  await page.goto(`${base}/suppliers/new`);
  await page.fill("#id_name", evil);
  await page.fill("#id_email", "sales@example.com");
  await page.click("main button[type=submit]");
  await page.waitForSelector("p.field.error", { timeout: 10000 });
  check((await page.textContent("p.field.error .error")) === "Supplier with this name already exists.",
        "the unique error beside the name");
  check((await page.inputValue("#id_name")) === evil, "the name comes back as typed");
  check((await page.inputValue("#id_email")) === "sales@example.com", "the e-mail comes back too");

  // A product of that supplier: its name is text on the page, not markup.
  // (the API with the browser's session: its CSRF token from the csrftoken cookie)
  const csrf = (await page.context().cookies()).find((c) => c.name === "csrftoken").value;
  const sup = await (await page.request.get(`${base}/api/suppliers?limit=1`)).json();
  const res = await page.request.post(`${base}/api/products`, {
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Origin: base },
    data: JSON.stringify({ name: "<script>window.__pwned=2</script>Saw", price: 12.5,
                           supplier_id: sup.results[0].id }),
  });
  check(res.status() === 201, `product created (${res.status()})`);
  await page.goto(`${base}/`);
  const cells = await page.$$eval("td", (tds) => tds.map((td) => td.textContent.trim()));
  check(cells.includes("<script>window.__pwned=2</script>Saw"), `the product's name is text (${cells})`);
  check(cells.includes(evil), "the supplier's name is text");
  check(cells.includes("12.5"), "the price");
  check((await page.evaluate(() => window.__pwned)) === undefined, "no markup from the data ran");
  check((await page.textContent("header .account")).includes("ops"), "who is logged in");
  await page.screenshot({ path: path.join(process.env.CADRE_SCREENSHOTS || dir, "inventory-products.png") });

  // The product's page from its link: goods in through its form, then the stock says so.
  await Promise.all([page.waitForURL(/\/products\/\d+$/), page.click("td a")]);
  check((await page.textContent("h1")) === "<script>window.__pwned=2</script>Saw", "the product's page");
  check((await page.textContent("p.stock")).includes("0 in stock"), "no stock yet");
  await page.fill("#id_quantity", "25");
  await page.fill("#id_note", "opening delivery");
  await Promise.all([page.waitForNavigation(), page.click("button:has-text('Record')")]);
  check((await page.textContent("p.stock")).includes("25 in stock, from 1 movement"),
        `the delivery counted (${await page.textContent("p.stock")})`);
  check((await page.$$eval("td", (tds) => tds.map((td) => td.textContent))).includes("opening delivery"),
        "the movement listed");
  check((await page.inputValue("#id_quantity")) === "", "the form empty again");
  await page.screenshot({ path: path.join(process.env.CADRE_SCREENSHOTS || dir, "inventory-product.png") });

  // The admin: its index, then the products' change list, sorted by a heading's link.
  await page.goto(`${base}/admin/`);
  check((await page.title()) === "Site administration | Cadre site admin" ||
        (await page.title()).startsWith("Site administration | "), `admin title (${await page.title()})`);
  const stylesheet = await page.$eval("header.site", (el) => getComputedStyle(el).display);
  check(stylesheet === "flex", `the admin's stylesheet applies (${stylesheet})`);
  await page.screenshot({ path: path.join(process.env.CADRE_SCREENSHOTS || dir, "admin-index.png") });
  await Promise.all([page.waitForURL(`${base}/admin/inventory/product/`, { timeout: 10000 }),
                     page.click("text=Products")]);
  const admin = await page.$$eval("tbody td", (tds) => tds.map((td) => td.textContent));
  check(admin.includes("<script>window.__pwned=2</script>Saw"), `the change list's name is text (${admin})`);
  check(admin.includes(evil), "the supplier's label is text");
  await Promise.all([page.waitForURL(`${base}/admin/inventory/product/?o=price`, { timeout: 10000 }),
                     page.click("thead >> text=Price")]);
  check((await page.getAttribute("thead th.sorted", "aria-sort")) === "ascending", "sorted by price");
  await page.fill("#searchbar", "saw");
  await Promise.all([page.waitForURL(/q=saw/, { timeout: 10000 }), page.press("#searchbar", "Enter")]);
  check((await page.textContent("form.search")).includes("1 result"), "a search from the box");
  check(page.url().includes("o=price"), `the search keeps the order (${page.url()})`);
  check((await page.evaluate(() => window.__pwned)) === undefined, "no markup from the data ran in the admin");
  await page.screenshot({ path: path.join(process.env.CADRE_SCREENSHOTS || dir, "admin-change-list.png") });
  // Live: the list's "In stock" follows movements recorded elsewhere (the API here, perhaps on
  // another worker thread), pushed over the page's WebSocket (/stock/live): no reload.
  await page.waitForSelector("#stock-live:not([hidden])", { timeout: 10000 });
  await page.evaluate(() => { window.__same_page = true; });
  const pk = await page.getAttribute("tbody tr", "data-pk");
  const col = await page.$$eval("thead th", (ths) => ths.findIndex((th) => th.textContent.trim() === "In stock"));
  const inStock = () => page.$eval(`tbody tr[data-pk="${pk}"]`, (tr, c) => tr.children[c].textContent, col);
  check((await inStock()) === "25", `the stock before (${await inStock()})`);
  const move = (quantity, note) => page.request.post(`${base}/api/stock-movements`, {
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Origin: base },
    data: JSON.stringify({ product_id: Number(pk), quantity, note }) });
  const live = (want) => page.waitForFunction(([p, c, w]) =>
    document.querySelector(`tbody tr[data-pk="${p}"]`).children[c].textContent === w,
    [pk, col, want], { timeout: 10000 }).then(() => true, () => false);
  const sold = await move(-3, "sold");
  check(sold.status() === 201, `a movement through the API (${sold.status()})`);
  check(await live("22"), `the list's stock followed it (${await inStock()})`);
  await page.$eval(`tbody tr[data-pk="${pk}"]`, (tr, c) => tr.children[c].scrollIntoView(), col);
  await page.screenshot({ path: path.join(process.env.CADRE_SCREENSHOTS || dir, "admin-live-stock.png") });
  const undone = await page.request.delete(`${base}/api/stock-movements/${(await sold.json()).id}`, {
    headers: { "X-CSRFToken": csrf, Origin: base } });
  check(undone.status() === 204, `the movement deleted (${undone.status()})`);
  check(await live("25"), `and its deletion (${await inStock()})`);
  check(await page.evaluate(() => window.__same_page === true), "the page was not reloaded");
  // The change form from the list: an error beside its field, then saved and back to the list.
  await Promise.all([page.waitForURL(/\/admin\/inventory\/product\/\d+\/change\/$/, { timeout: 10000 }),
                     page.click("tbody td a")]);
  check((await page.inputValue("#id_price")) === "12.5", `the form holds the row (${await page.inputValue("#id_price")})`);
  await page.fill("#id_price", "-1");
  await Promise.all([page.waitForLoadState(), page.click("button[name=_save]")]);
  check((await page.textContent("p.field.error .error")).includes("greater than or equal to 0"),
        "the error beside the price");
  await page.screenshot({ path: path.join(process.env.CADRE_SCREENSHOTS || dir, "admin-change-form.png") });
  await page.fill("#id_price", "13");
  await Promise.all([page.waitForURL(`${base}/admin/inventory/product/`, { timeout: 10000 }),
                     page.click("button[name=_save]")]);
  const saved = await page.$$eval("tbody td", (tds) => tds.map((td) => td.textContent));
  check(saved.includes("13.0"), `the new price in the list (${saved})`);
  // A stock movement added inline on the product's page ("Save and continue editing"), after the
  // one recorded on the product's own page.
  await Promise.all([page.waitForURL(/\/change\/$/, { timeout: 10000 }), page.click("tbody td a")]);
  await page.fill("#id_stock_movement-1-quantity", "4");
  await page.fill("#id_stock_movement-1-note", "first delivery");
  await Promise.all([page.waitForURL(/\/change\/$/, { timeout: 10000 }), page.click("button[name=_continue]")]);
  const legends = await page.$$eval("fieldset.inline-related legend", (ls) => ls.map((l) => l.textContent));
  check(legends[0] === "opening delivery" && legends[1] === "first delivery" && legends.length === 5,
        `the movement added inline (${legends})`);
  check((await page.inputValue("#id_stock_movement-1-quantity")) === "4", "its quantity");
  await page.screenshot({ path: path.join(process.env.CADRE_SCREENSHOTS || dir, "admin-change-form-inline.png"),
                          fullPage: true });
  await page.goto(`${base}/admin/inventory/product/`);
  // The list's CSV export, downloaded as a file.
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 10000 }),
                                        page.click("text=Export CSV")]);
  check(/^product-\d{4}-\d\d-\d\d\.csv$/.test(download.suggestedFilename()),
        `the export's file name (${download.suggestedFilename()})`);
  const csv = readFileSync(await download.path(), "utf8");
  check(csv.startsWith("id,name,price,supplier_id,Supplier,updated_at,In stock\r\n") &&
        csv.includes(",<script>window.__pwned=2</script>Saw,13.0,") && csv.endsWith(",29\r\n"),
        `the export's rows (${csv})`);
  // An action on the selected row: the price lowered by 10 %.
  await page.check("tbody input[name=_selected_action]");
  await page.selectOption("#action-select", "discount");
  await Promise.all([page.waitForURL(`${base}/admin/inventory/product/`, { timeout: 10000 }),
                     page.click(".actions button[type=submit]")]);
  const discounted = await page.$$eval("tbody td", (tds) => tds.map((td) => td.textContent));
  check(discounted.includes("11.7"), `the action lowered the price (${discounted})`);
  // Its history: who changed the price, from what to what.
  await page.click("tbody td a");
  await page.waitForURL(/\/change\/$/, { timeout: 10000 });
  await Promise.all([page.waitForURL(/\/history\/$/, { timeout: 10000 }), page.click("text=History")]);
  const history = await page.$$eval("table.history td", (tds) => tds.map((td) => td.textContent));
  check(history.some((t) => t.includes("price: 12.5 → 13.0")), `the form's change in the history (${history})`);
  check(history.some((t) => t === "Added.") || history.length >= 3, `the history's rows (${history})`);
  // Deleted after its confirmation: the list is empty again.
  await page.goBack();
  await Promise.all([page.waitForURL(/\/delete\/$/, { timeout: 10000 }), page.click("a.button.danger")]);
  check((await page.textContent("main")).includes("Are you sure you want to delete"), "the confirmation");
  await Promise.all([page.waitForURL(`${base}/admin/inventory/product/`, { timeout: 10000 }),
                     page.click("button.danger")]);
  check((await page.textContent("tbody")).includes("No products."), "deleted");
  // 105 suppliers more (through the API): the suppliers' list has a second page, and a product's
  // supplier is past what a select lists — an input that suggests suppliers as one types.
  for (let i = 1; i <= 105; i++) {
    const made = await page.request.post(`${base}/api/suppliers`, {
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Origin: base },
      data: JSON.stringify({ name: `Bulk ${String(i).padStart(3, "0")}` }) });
    if (made.status() !== 201) { check(false, `supplier ${i} (${made.status()})`); break; }
  }
  await page.goto(`${base}/admin/inventory/supplier/`);
  await Promise.all([page.waitForURL(/p=2/, { timeout: 10000 }), page.click("a[rel=next]")]);
  check((await page.$$("tbody tr")).length === 6, `the second page's rows (${(await page.$$("tbody tr")).length})`);
  check((await page.textContent("nav.paginator")).includes("Page 2 of 2"), "page 2 of 2");
  // Added with an error first (no price), then fixed; the supplier picked from suggestions.
  await page.goto(`${base}/admin/inventory/product/add/`);
  await page.fill("#id_name", "Autocompleted");
  await Promise.all([page.waitForLoadState(), page.click("button[name=_save]")]);
  check((await page.textContent("p.errornote")).includes("Please correct"), "the add form's errors");
  check((await page.inputValue("#id_name")) === "Autocompleted", "what was typed kept");
  await page.fill("#id_price", "3");
  await page.type("#id_supplier_id", "bulk 04"); // typed as a person does: each key asks
  await page.waitForFunction(() => {
    const o = [...document.querySelectorAll("#id_supplier_id_list option")];
    return o.length === 10 && o.every((x) => x.textContent.startsWith("Bulk 04"));
  }, null, { timeout: 10000 });
  const pick = await page.$eval("#id_supplier_id_list option:nth-child(3)", (o) => [o.value, o.textContent]);
  check(pick[1] === "Bulk 042", `the suggestions follow what is typed (${pick})`);
  await page.fill("#id_supplier_id", pick[0]);
  await Promise.all([page.waitForURL(`${base}/admin/inventory/product/`, { timeout: 10000 }),
                     page.click("button[name=_save]")]);
  // filtered by that supplier from the sidebar
  await Promise.all([page.waitForURL(/supplier_id=/, { timeout: 10000 }),
                     page.click("aside.filters >> text=Bulk 042")]);
  const filtered = await page.$$eval("tbody tr td:nth-child(3)", (tds) => tds.map((td) => td.textContent));
  check(filtered.length === 1 && filtered[0] === "Autocompleted", `filtered by supplier (${filtered})`);
  await page.goto(`${base}/`);
  // Logged out (a POST with the CSRF token): the list sends to the login page again.
  await Promise.all([page.waitForLoadState(), page.click("header .account button")]);
  await page.goto(`${base}/`);
  check(page.url().startsWith(`${base}/accounts/login/`), `logged out (${page.url()})`);
  check(errors.length === 0, `no page errors (${errors.join("; ")})`);
} catch (err) {
  fail(err);
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
report("pages-browser");
