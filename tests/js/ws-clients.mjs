// WebSockets with two more real clients (issue #17): npm's `ws` and headless Chromium's own
// WebSocket, against tests/ws/wsapp. Echo of text and binary (1 MiB), a fragmented message,
// the client's close code echoed, the server's close code seen by the browser, and the Origin
// check: a page of this site may connect, a page elsewhere (about:blank, Origin "null") may not.
// Both offer permessage-deflate (RFC 7692) by default: the server accepts it, each client's
// compressed messages are inflated and its replies inflate in the client; a route with
// .no_compression answers without it.
import WebSocket from "ws";
import { checker, serve, launch } from "./harness.mjs";

const { check, fail, report } = checker();
const bin = process.argv[2];
const { server, base } = await serve(bin);
const wsBase = base.replace("http:", "ws:");

/** Resolves with the next message (its data and whether binary), or rejects after 10 s. */
function next(ws) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no message in 10 s")), 10000);
    ws.once("message", (data, isBinary) => { clearTimeout(t); resolve({ data, isBinary }); });
  });
}

try {
  // npm ws
  const ws = new WebSocket(`${wsBase}/ws/echo`);
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  ws.send("héllo ✓");
  let m = await next(ws);
  check(!m.isBinary && m.data.toString() === "héllo ✓", "ws: text echoed");
  const big = Buffer.alloc(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
  ws.send(big);
  m = await next(ws);
  check(m.isBinary && Buffer.compare(m.data, big) === 0, "ws: 1 MiB binary echoed");
  ws.send("frag", { fin: false });
  ws.send("mented", { fin: true });
  m = await next(ws);
  check(m.data.toString() === "fragmented", "ws: fragmented message reassembled");
  const closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve([code, reason.toString()])));
  ws.close(4001, "done here");
  const [code, reason] = await closed;
  check(code === 4001 && reason === "", `ws: the client's close code echoed (got ${code} ${reason})`);

  // npm ws and permessage-deflate: negotiated as the server answers it; ws compresses what it
  // sends from 1 KiB (its threshold), the server what it sends from 256 bytes
  const z = new WebSocket(`${wsBase}/ws/echo`, { perMessageDeflate: { threshold: 0 } });
  await new Promise((resolve, reject) => { z.once("open", resolve); z.once("error", reject); });
  const params = z._extensions["permessage-deflate"]?.params ?? {};  // ws lists names only
  check(z.extensions === "permessage-deflate" && params.server_no_context_takeover === true &&
        params.client_no_context_takeover === true,
        `ws: permessage-deflate negotiated (${z.extensions}: ${JSON.stringify(params)})`);
  const json = JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ id: i, name: `item ${i}`, stock: i % 17 })));
  for (const text of ["", "small", "x".repeat(300), json]) {
    z.send(text);
    m = await next(z);
    check(!m.isBinary && m.data.toString() === text, `ws: ${text.length} characters compressed both ways`);
  }
  z.send(big);
  m = await next(z);
  check(m.isBinary && Buffer.compare(m.data, big) === 0, "ws: 1 MiB binary compressed both ways");
  z.send(json.slice(0, 1000), { fin: false });
  z.send(json.slice(1000), { fin: true });
  m = await next(z);
  check(m.data.toString() === json, "ws: a fragmented compressed message reassembled");
  z.close(1000);
  const plain = new WebSocket(`${wsBase}/ws/plain`);
  await new Promise((resolve, reject) => { plain.once("open", resolve); plain.once("error", reject); });
  check(plain.extensions === "", `ws: no extension on a route with .no_compression (${plain.extensions})`);
  plain.send(json);
  m = await next(plain);
  check(m.data.toString() === json, "ws: echoed uncompressed");
  plain.close(1000);

  // headless Chromium
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(base + "/");
    const got = await page.evaluate(async () => {
      const sock = new WebSocket(`ws://${location.host}/ws/echo`);
      sock.binaryType = "arraybuffer";
      await new Promise((res, rej) => { sock.onopen = res; sock.onerror = () => rej(new Error("error")); });
      const recv = () => new Promise((res) => { sock.onmessage = (e) => res(e.data); });
      sock.send("from the browser");
      const text = await recv();
      sock.send(new Uint8Array([1, 2, 3, 250]));
      const bin = Array.from(new Uint8Array(await recv()));
      // Chromium compresses what it sends; the server's replies from 256 bytes come compressed
      const long = JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ id: i, note: "é✓" })));
      sock.send(long);
      const longBack = await recv();
      const closed = new Promise((res) => { sock.onclose = (e) => res([e.code, e.wasClean]); });
      sock.close(1000);
      return { text, bin, extensions: sock.extensions, long: longBack === long,
               longLen: long.length, close: await closed };
    });
    check(got.extensions === "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
          `chromium: permessage-deflate negotiated (${got.extensions})`);
    check(got.long, `chromium: ${got.longLen} characters of JSON compressed both ways`);
    check(got.text === "from the browser", "chromium: text echoed");
    check(JSON.stringify(got.bin) === "[1,2,3,250]", "chromium: binary echoed");
    check(got.close[0] === 1000 && got.close[1] === true, `chromium: clean close 1000 (${got.close})`);
    const serverClose = await page.evaluate(async () => {
      const sock = new WebSocket(`ws://${location.host}/ws/close`);
      await new Promise((res) => { sock.onopen = res; });
      const closed = new Promise((res) => { sock.onclose = (e) => res([e.code, e.reason, e.wasClean]); });
      sock.send("abc");
      return await closed;
    });
    check(serverClose[0] === 4000 && serverClose[1] === "bye" && serverClose[2] === true,
          `chromium: the server's close 4000 "bye" seen, clean (${serverClose})`);
    const origin = await page.evaluate(async () => {
      const sock = new WebSocket(`ws://${location.host}/ws/origin`);
      return await new Promise((res) => { sock.onopen = () => { sock.close(); res("open"); };
                                           sock.onerror = () => res("refused"); });
    });
    check(origin === "open", "chromium: a page of the site may connect to a route with .origins");
    const elsewhere = await browser.newPage();
    await elsewhere.goto("about:blank");
    const foreign = await elsewhere.evaluate(async (url) => {
      const sock = new WebSocket(url);
      return await new Promise((res) => { sock.onopen = () => res("open");
                                           sock.onclose = (e) => res(`closed ${e.code}`); });
    }, `${wsBase}/ws/origin`);
    check(foreign === "closed 1006", `chromium: a page of another origin is refused (${foreign})`);
  } finally {
    await browser.close();
  }
} catch (e) {
  fail(e);
} finally {
  server.kill();
}
report("ws-clients");
