// Drives tests/browser/page in Debian's Chromium (playwright-core, never a downloaded browser).
//
//   node drive.mjs <apiBase> <allowedPort> <screenshot.png>
//
// Serves the page (and socket.io-client's browser build) on two origins:
//   - http://127.0.0.1:<allowedPort>, the one origin the server lists in LEEDZ_CORS_ORIGINS: the
//     page signs up, registers an agent, creates a SEARCH job and follows it over /app. Once the
//     agent token shows, a step {"step":"agent-token"} is printed and the caller starts the
//     reference agent with it; the page must then reach COMPLETED with its evidence count;
//   - http://127.0.0.1:<another port>, not listed: the same page's first fetch must be refused by
//     Chromium's CORS check (a TypeError in #error), so nothing is created; a WebSocket to the
//     Socket.IO endpoint (which CORS does not cover) must be refused by the server.
// One JSON line per step on stdout: {"step", "ok", ...}. Exit 0 only when every step passed, 1 on
// the first failure, 2 on bad usage. Hard timeout: LEEDZ_BROWSER_TIMEOUT_MS (90 s).
// Chromium: LEEDZ_CHROMIUM (default /usr/bin/chromium).

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const [api, allowedPort, screenshot] = process.argv.slice(2);
const EXECUTABLE = process.env.LEEDZ_CHROMIUM ?? "/usr/bin/chromium";
const HARD_TIMEOUT_MS = Number(process.env.LEEDZ_BROWSER_TIMEOUT_MS ?? 90_000);
const COMPLETED_TIMEOUT_MS = 60_000;
const REFUSED_TIMEOUT_MS = 15_000;
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

if (!api || !allowedPort || !screenshot) {
  process.stderr.write("usage: node drive.mjs <apiBase> <allowedPort> <screenshot.png>\n");
  process.exit(2);
}

function report(step, ok, details = {}) {
  process.stdout.write(`${JSON.stringify({ step, ok, ...details })}\n`);
}

class StepFailed extends Error {}

function check(condition, step, details) {
  if (!condition) {
    report(step, false, details);
    throw new StepFailed(step);
  }
}

const FILES = {
  "/": ["page/index.html", "text/html; charset=utf-8"],
  "/index.html": ["page/index.html", "text/html; charset=utf-8"],
  "/app.js": ["page/app.js", "text/javascript; charset=utf-8"],
  "/socket.io.min.js": [
    "node_modules/socket.io-client/dist/socket.io.min.js",
    "text/javascript; charset=utf-8",
  ],
};

function serve(port) {
  const server = createServer((request, response) => {
    const found = FILES[new URL(request.url, "http://x").pathname];
    if (!found) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": found[1], "cache-control": "no-store" });
    response.end(readFileSync(join(HERE, found[0])));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(port), "127.0.0.1", () => resolve(server));
  });
}

const text = (page, id) => page.locator(`#${id}`).textContent();

async function state(page) {
  const ids = ["status", "progress", "progress-log", "evidence-count", "error", "job-id", "email"];
  const values = await Promise.all(ids.map((id) => text(page, id)));
  return {
    state: await page.evaluate(() => document.body.dataset.state),
    ...Object.fromEntries(ids.map((id, i) => [id, values[i]])),
  };
}

function watch(page, label, messages = []) {
  page.on("console", (m) => {
    messages.push(m.text());
    process.stderr.write(`[${label} console ${m.type()}] ${m.text()}\n`);
  });
  page.on("pageerror", (e) => process.stderr.write(`[${label} pageerror] ${e.message}\n`));
}

async function allowedOrigin(browser, origin) {
  const page = await browser.newPage({ viewport: { width: 820, height: 620 } });
  watch(page, "allowed");
  const url = `${origin}/?api=${encodeURIComponent(api)}`;
  await page.goto(url);
  await page.waitForFunction(
    () => document.getElementById("agent-token").textContent || document.body.dataset.state === "error",
    null,
    { timeout: 20_000 },
  );
  const token = await text(page, "agent-token");
  check(token.startsWith("lza_"), "agent-token", await state(page));
  report("agent-token", true, { token, email: await text(page, "email") });

  await page.waitForFunction(
    () => ["done", "error"].includes(document.body.dataset.state),
    null,
    { timeout: COMPLETED_TIMEOUT_MS },
  );
  const shown = await state(page);
  await page.screenshot({ path: screenshot, fullPage: true });
  const log = shown["progress-log"].split(" → ").map((s) => s.split(" "));
  const details = {
    ...shown,
    origin,
    screenshot,
    seen: log.map(([status, progress]) => ({ status, progress: Number(progress) })),
    evidenceCount: Number(shown["evidence-count"]),
  };
  check(
    shown.state === "done" && shown.status === "COMPLETED" && shown.progress === "100"
      && details.evidenceCount > 0 && shown.error === "",
    "completed",
    details,
  );
  report("completed", true, details);
  await page.close();
}

async function refusedOrigin(browser, origin) {
  const page = await browser.newPage({ viewport: { width: 820, height: 620 } });
  const messages = [];
  watch(page, "refused", messages);
  const sent = [];
  page.on("request", (r) => { if (r.url().startsWith(api)) sent.push(`${r.method()} ${r.url()}`); });
  const email = `browser-refused-${Date.now()}@example.com`;
  await page.goto(`${origin}/?api=${encodeURIComponent(api)}&email=${encodeURIComponent(email)}`);
  await page.waitForFunction(
    () => ["done", "error", "waiting"].includes(document.body.dataset.state),
    null,
    { timeout: REFUSED_TIMEOUT_MS },
  );
  const shown = await state(page);
  await page.screenshot({ path: screenshot.replace(/\.png$/, "") + "-refused.png", fullPage: true });
  // CORS does not cover WebSockets: the server must check their Origin itself. A raw Engine.IO
  // WebSocket from this origin must close without ever opening.
  const websocket = await page.evaluate((url) => new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.onopen = () => { ws.close(); resolve("opened"); };
    ws.onclose = (event) => resolve(`closed ${event.code}`);
  }), `${api.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  // Chromium says why the fetch failed only on its console: it must be the CORS check.
  const cors = messages.filter((m) => m.includes("blocked by CORS policy"));
  const details = { ...shown, origin, email, requested: sent, cors, websocket };
  check(
    shown.state === "error" && shown.error.startsWith("TypeError") && cors.length > 0
      && websocket !== "opened" && shown["job-id"] === ""
      && (await text(page, "agent-token")) === "",
    "refused",
    details,
  );
  report("refused", true, details);
  await page.close();
}

async function main() {
  const allowed = await serve(allowedPort);
  const refused = await serve(0);
  let browser;
  try {
    try {
      browser = await chromium.launch({
        executablePath: EXECUTABLE,
        headless: true,
        // Playwright starts Chromium with a new empty --user-data-dir of its own (and refuses one
        // in `args`); it deletes it on close.
        args: FLAGS,
      });
    } catch (error) {
      check(false, "launch", { executable: EXECUTABLE, error: String(error) });
    }
    report("launch", true, { version: browser.version() });
    await allowedOrigin(browser, `http://127.0.0.1:${allowed.address().port}`);
    await refusedOrigin(browser, `http://127.0.0.1:${refused.address().port}`);
    report("done", true);
    return 0;
  } finally {
    await browser?.close().catch(() => {});
    allowed.close();
    refused.close();
  }
}

const timer = setTimeout(() => {
  report("timeout", false, { afterMs: HARD_TIMEOUT_MS });
  process.exit(1);
}, HARD_TIMEOUT_MS);

main()
  .then((code) => code, (error) => {
    if (!(error instanceof StepFailed)) report("error", false, { error: String(error?.stack ?? error) });
    return 1;
  })
  .then((code) => {
    clearTimeout(timer);
    process.stdout.write("", () => process.exit(code));
  });
