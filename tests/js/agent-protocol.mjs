// The /agent Socket.IO protocol, driven by the official JavaScript client.
//
//   node agent-protocol.mjs <baseUrl> <agentToken>
//   (or LEEDZ_BASE_URL / LEEDZ_AGENT_TOKEN in the environment)
//
// Connects, heartbeats, prints a "ready" step and waits for `job:available` (the caller creates
// a SEARCH job after reading "ready"), then claims it, reports progress twice, uploads evidence
// over the REST twin (twice: the second upload must store nothing), completes it, checks that a
// completion under a random lease answers `lease_stale`, and that handshakes with bad tokens are
// refused. One JSON line per step on stdout: {"step", "ok", ...}. Exit 0 only when every step
// passed; 1 on the first failure; 2 on bad usage. Hard timeout: LEEDZ_JS_TIMEOUT_MS (30 s).

import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";

const base = (process.argv[2] ?? process.env.LEEDZ_BASE_URL ?? "").replace(/\/+$/, "");
const token = process.argv[3] ?? process.env.LEEDZ_AGENT_TOKEN ?? "";
const HARD_TIMEOUT_MS = Number(process.env.LEEDZ_JS_TIMEOUT_MS ?? 30_000);
const ACK_TIMEOUT_MS = 5_000;
const AVAILABLE_TIMEOUT_MS = 15_000;
const EVIDENCE_COUNT = 2;

if (!base || !token) {
  process.stderr.write("usage: node agent-protocol.mjs <baseUrl> <agentToken>\n");
  process.exit(2);
}

const sockets = [];

function report(step, ok, details = {}) {
  process.stdout.write(`${JSON.stringify({ step, ok, ...details })}\n`);
}

function finish(code) {
  for (const socket of sockets) socket.disconnect();
  // Let stdout drain before exiting.
  process.stdout.write("", () => process.exit(code));
}

class StepFailed extends Error {
  constructor(step, message, details = {}) {
    super(`${step}: ${message}`);
    this.step = step;
    this.details = details;
  }
}

function check(step, condition, message, details = {}) {
  if (!condition) throw new StepFailed(step, message, details);
}

const hardTimeout = setTimeout(() => {
  report("timeout", false, { message: `not done after ${HARD_TIMEOUT_MS} ms` });
  process.stderr.write(`agent-protocol: hard timeout after ${HARD_TIMEOUT_MS} ms\n`);
  finish(1);
}, HARD_TIMEOUT_MS);

function connect(authToken) {
  // forceNew: each socket gets its own Manager (connection), so a refused handshake
  // cannot affect the main one; no reconnection, so a refusal is final.
  const socket = io(`${base}/agent`, {
    auth: { token: authToken },
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    timeout: ACK_TIMEOUT_MS,
  });
  sockets.push(socket);
  return socket;
}

function handshake(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve({ connected: true }));
    socket.once("connect_error", (err) =>
      resolve({ connected: false, message: err.message, data: err.data ?? null }),
    );
    setTimeout(() => reject(new Error("no connect nor connect_error")), ACK_TIMEOUT_MS);
  });
}

async function ack(socket, event, payload) {
  return socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
}

function expectOk(step, answer) {
  check(
    step,
    answer && answer.ok === true,
    `expected an {ok: true} ack, got ${JSON.stringify(answer)}`,
    { answer },
  );
  return answer;
}

function tamper(value) {
  // Same shape (prefix, tenant, length), different secret: the server must look it up and refuse.
  const [prefix, body] = [value.slice(0, value.indexOf("_")), value.slice(value.indexOf("_") + 1)];
  const raw = Buffer.from(body, "base64url");
  raw[raw.length - 1] ^= 0xff;
  return `${prefix}_${raw.toString("base64url")}`;
}

async function refusedHandshake(step, badToken) {
  const result = await handshake(connect(badToken));
  check(step, !result.connected, "a bad token was accepted");
  const code = result.data?.code;
  // The socket answers "unauthorized" (LeedzError Unauthorized); the REST twin "invalid_token".
  check(
    step,
    code === "unauthorized" || code === "invalid_token",
    `connect_error data.code is ${JSON.stringify(code)}`,
    { message: result.message, data: result.data },
  );
  check(step, typeof result.message === "string" && result.message.length > 0, "no message");
  report(step, true, { message: result.message, data: result.data });
}

async function main() {
  // 1. The handshake. The job:available listener is in place before "ready" is printed.
  const socket = connect(token);
  const available = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StepFailed("job:available", `none within ${AVAILABLE_TIMEOUT_MS} ms`)),
      AVAILABLE_TIMEOUT_MS,
    );
    socket.on("job:available", (payload) => {
      if (Array.isArray(payload?.types) && payload.types.includes("SEARCH")) {
        clearTimeout(timer);
        resolve(payload);
      }
    });
  });
  available.catch(() => {}); // awaited below; avoid an unhandled rejection before then
  const connected = await handshake(socket);
  check("connect", connected.connected, `connect_error: ${connected.message}`, {
    message: connected.message,
    data: connected.data,
  });
  report("connect", true, { id: socket.id });

  // 2. Heartbeat.
  const beat = expectOk("heartbeat", await ack(socket, "heartbeat", {}));
  check("heartbeat", typeof beat.serverTime === "string", "no serverTime", { answer: beat });
  check("heartbeat", Number.isInteger(beat.leaseSeconds) && beat.leaseSeconds > 0, "leaseSeconds");
  check("heartbeat", Array.isArray(beat.leases) && beat.leases.length === 0, "held leases", {
    answer: beat,
  });
  report("heartbeat", true, { leaseSeconds: beat.leaseSeconds });

  // 3. Ready: the caller creates the job now.
  report("ready", true);
  const announced = await available;
  report("job:available", true, { types: announced.types });

  // 4. Claim.
  const claimed = expectOk("job:claim", await ack(socket, "job:claim", { types: ["SEARCH"] }));
  check("job:claim", claimed.job && typeof claimed.job.id === "string", "no job", {
    answer: claimed,
  });
  check("job:claim", claimed.job.type === "SEARCH", `type ${claimed.job.type}`);
  check("job:claim", claimed.job.status === "RUNNING", `status ${claimed.job.status}`);
  check("job:claim", typeof claimed.leaseId === "string", "no leaseId", { answer: claimed });
  check("job:claim", typeof claimed.leaseExpiresAt === "string", "no leaseExpiresAt");
  const jobId = claimed.job.id;
  const leaseId = claimed.leaseId;
  report("job:claim", true, { jobId, leaseId, input: claimed.job.input });

  // 5. Progress, twice.
  for (const [progress, message] of [
    [30, "searching"],
    [70, undefined],
  ]) {
    const body = { jobId, leaseId, progress, ...(message ? { message } : {}) };
    const answer = expectOk("job:progress", await ack(socket, "job:progress", body));
    check("job:progress", answer.jobId === jobId && answer.progress === progress, "echo", {
      answer,
    });
    check("job:progress", answer.cancelRequested === false, "cancel requested", { answer });
    report("job:progress", true, { progress });
  }

  // 6. Evidence over the REST twin, with the lease; the same batch again stores nothing.
  const collectedAt = new Date().toISOString();
  const items = Array.from({ length: EVIDENCE_COUNT }, (_, i) => ({
    type: "SEARCH_RESULT",
    title: `Result ${i + 1} for ${claimed.job.input?.query ?? "?"}`,
    source: "js-client-test",
    url: `https://example.com/result/${i + 1}`,
    snippet: `Snippet <b>${i + 1}</b>`,
    confidence: i === 0 ? "HIGH" : "MEDIUM",
    rawData: { rank: i + 1 },
    collectedAt,
  }));
  const upload = async () => {
    const response = await fetch(`${base}/v1/agent/jobs/${jobId}/evidence`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ leaseId, items }),
      signal: AbortSignal.timeout(ACK_TIMEOUT_MS),
    });
    const text = await response.text();
    check("evidence", response.status === 200, `HTTP ${response.status}: ${text}`);
    return JSON.parse(text);
  };
  const first = await upload();
  check("evidence", first.stored?.length === EVIDENCE_COUNT, "stored", { answer: first });
  check("evidence", first.duplicates?.length === 0, "duplicates", { answer: first });
  report("evidence", true, { stored: first.stored });
  const again = await upload();
  check("evidence:again", again.stored?.length === 0, "stored again", { answer: again });
  check("evidence:again", again.duplicates?.length === EVIDENCE_COUNT, "dups", { answer: again });
  report("evidence:again", true, { duplicates: again.duplicates });

  // 7. Complete.
  const output = { found: EVIDENCE_COUNT, client: "socket.io-client" };
  const done = expectOk("job:complete", await ack(socket, "job:complete", { jobId, leaseId, output }));
  check("job:complete", done.job?.id === jobId, "job id", { answer: done });
  check("job:complete", done.job.status === "COMPLETED", `status ${done.job?.status}`);
  check("job:complete", done.job.progress === 100, `progress ${done.job?.progress}`);
  report("job:complete", true, { status: done.job.status, progress: done.job.progress });

  // 8. A completion under a lease that is not the job's: lease_stale, nothing changes.
  const stale = await ack(socket, "job:complete", { jobId, leaseId: randomUUID(), output: {} });
  check("lease_stale", stale?.ok === false, `expected ok:false, got ${JSON.stringify(stale)}`);
  check("lease_stale", stale.error?.code === "lease_stale", `code ${stale.error?.code}`, {
    answer: stale,
  });
  check("lease_stale", typeof stale.error.message === "string", "no message", { answer: stale });
  report("lease_stale", true, { error: stale.error });

  // 9. An invalid payload answers validation_error through the ack.
  const invalid = await ack(socket, "job:progress", { jobId, leaseId, progress: 101 });
  check("validation_error", invalid?.ok === false, "accepted", { answer: invalid });
  check("validation_error", invalid.error?.code === "validation_error", "code", {
    answer: invalid,
  });
  report("validation_error", true);

  // 10. Handshakes with bad tokens are refused with connect_error.
  await refusedHandshake("bad_token:malformed", "not-an-agent-token");
  await refusedHandshake("bad_token:wrong_secret", tamper(token));

  socket.disconnect();
  report("done", true);
}

main().then(
  () => {
    clearTimeout(hardTimeout);
    finish(0);
  },
  (err) => {
    clearTimeout(hardTimeout);
    const step = err instanceof StepFailed ? err.step : "error";
    report(step, false, { message: err.message, ...(err.details ?? {}) });
    process.stderr.write(`agent-protocol: ${err.stack ?? err}\n`);
    finish(1);
  },
);
