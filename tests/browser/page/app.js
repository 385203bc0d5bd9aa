// A minimal Leedz web client: sign up, register an agent, create a SEARCH job, follow it live over
// the /app namespace and show its evidence. Everything is requested by the browser itself (fetch
// and socket.io-client), from this page's origin: the API must allow it by CORS.
//
//   index.html?api=http://127.0.0.1:8000[&email=…]
//
// State is shown in elements with ids (#status, #progress, #evidence-count, #error, …) and in
// <body data-state>: "starting", "waiting" (job created, waiting for an agent), "done", "error".
/* global io */
"use strict";

const params = new URLSearchParams(location.search);
const api = (params.get("api") || "").replace(/\/+$/, "");
const email = params.get("email") || `browser-${Date.now()}-${Math.random().toString(16).slice(2)}@example.com`;
const PASSWORD = "correct horse battery staple";

const $ = (id) => document.getElementById(id);
const show = (id, text) => { $(id).textContent = String(text); };
const seen = [];

function fail(error) {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  show("error", text);
  document.body.dataset.state = "error";
}

async function call(method, path, token, body) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  // A CORS refusal makes fetch throw a TypeError ("Failed to fetch"): the answer is never seen.
  const response = await fetch(api + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${data && (data.code || data.title)}`);
  }
  return data;
}

function connect(token) {
  return new Promise((resolve, reject) => {
    const socket = io(`${api}/app`, {
      auth: { token }, transports: ["websocket"], reconnection: false, timeout: 10000,
    });
    socket.once("connect", () => { show("socket", `connected (${socket.id})`); resolve(socket); });
    socket.once("connect_error", (error) => reject(new Error(`/app refused: ${error.message}`)));
  });
}

async function main() {
  show("origin", location.origin);
  show("api", api);
  show("email", email);
  if (!api) throw new Error("no ?api= in the address");

  const tokens = await call("POST", "/v1/auth/signup", null, {
    email, password: PASSWORD, name: "Browser", tenantName: "Browser Co",
  });
  const token = tokens.accessToken;

  // Listen before anything can happen to the job; events for a job not yet known are kept.
  const socket = await connect(token);
  let jobId = null;
  let finished = false;
  const early = [];

  async function onUpdate(event) {
    if (jobId === null) { early.push(event); return; }
    if (event.id !== jobId || finished) return;
    seen.push({ status: event.status, progress: event.progress });
    show("status", event.status);
    show("progress", event.progress);
    $("progress-bar").value = event.progress;
    show("progress-log", seen.map((s) => `${s.status} ${s.progress}`).join(" → "));
    if (event.status === "COMPLETED") {
      finished = true;
      const evidence = await call("GET", `/v1/jobs/${jobId}/evidence?limit=100`, token);
      for (const item of evidence.items) {
        const li = document.createElement("li");
        li.textContent = `${item.type} · ${item.title} (${item.confidence})`;
        $("evidence").append(li);
      }
      show("evidence-count", evidence.items.length);
      socket.disconnect();
      document.body.dataset.state = "done";
    } else if (["FAILED", "CANCELLED", "DEAD"].includes(event.status)) {
      finished = true;
      socket.disconnect();
      throw new Error(`the job ended ${event.status}`);
    }
  }
  socket.on("job:updated", (event) => { onUpdate(event).catch(fail); });
  socket.on("disconnect", (reason) => {
    show("socket", `disconnected (${reason})`);
    if (!finished) fail(new Error(`/app disconnected before the job finished: ${reason}`));
  });

  const registered = await call("POST", "/v1/agents", token, {
    name: "browser-test-agent", capabilities: ["SEARCH"],
  });
  show("agent-token", registered.token);

  const job = await call("POST", "/v1/jobs", token, {
    type: "SEARCH", input: { query: "bakeries", location: "Lyon", maxResults: 3 },
  });
  jobId = job.id;
  show("job-id", jobId);
  show("status", job.status);
  show("progress", job.progress);
  document.body.dataset.state = "waiting";
  for (const event of early.splice(0)) await onUpdate(event);
}

main().catch(fail);
