/**
 * A typed client for the Leedz API: `openapi-fetch` over the types that `openapi-typescript`
 * generates from the server's OpenAPI document (src/schema.d.ts; never edit that file by hand).
 *
 *   const api = createLeedzClient({ baseUrl: "http://127.0.0.1:8000", token: () => accessToken });
 *   const me = unwrap(await api.GET("/v1/auth/me"));
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema";

export type { components, operations, paths } from "./schema";

/** Every named schema of the API: `Schemas["JobOut"]`, `Schemas["Tokens"]`, … */
export type Schemas = components["schemas"];

export type LeedzClient = Client<paths, "application/json">;

/** An `application/problem+json` error body; `code` is stable and machine-readable. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string | null;
  /** e.g. `invalid_credentials`, `token_expired`, `forbidden`, `not_found`, `quota_exceeded` */
  code: string;
  requestId: string | null;
  /** Validation problems (`code: "validation_error"`) list what was wrong. */
  errors?: { loc: (string | number)[]; msg: string; type: string }[];
  [extra: string]: unknown;
}

/** Thrown by `unwrap` for every answer that is not 2xx. */
export class LeedzApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.code}: ${problem.detail ?? problem.title}`);
    this.name = "LeedzApiError";
    this.status = problem.status;
    this.code = problem.code;
    this.problem = problem;
  }
}

function isProblem(body: unknown): body is Problem {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as Record<string, unknown>).code === "string" &&
    typeof (body as Record<string, unknown>).status === "number"
  );
}

/** The body of a problem answer, or a stand-in when the body is not one (a proxy's 502). */
export function toProblem(response: Response, body: unknown): Problem {
  if (isProblem(body)) return body;
  return {
    type: "about:blank",
    title: response.statusText || "HTTP error",
    status: response.status,
    detail: typeof body === "string" && body !== "" ? body : null,
    code: `http_${response.status}`,
    requestId: response.headers.get("X-Request-ID"),
  };
}

export type TokenSource = string | (() => string | null | undefined);

export interface LeedzClientOptions {
  /** The server, without `/v1` (the paths carry it): `https://api.example.com`. */
  baseUrl: string;
  /** An access token (users) or agent token (agents), or a function read before each call. */
  token?: TokenSource;
  /** Another fetch (tests, server-side rendering); default: the global one. */
  fetch?: typeof globalThis.fetch;
  headers?: Record<string, string>;
}

export function createLeedzClient(options: LeedzClientOptions): LeedzClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    headers: options.headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const { token } = options;
  if (token !== undefined) {
    const bearer: Middleware = {
      onRequest({ request }) {
        const value = typeof token === "function" ? token() : token;
        if (value) request.headers.set("Authorization", `Bearer ${value}`);
        return request;
      },
    };
    client.use(bearer);
  }
  return client;
}

/**
 * The data of a successful call, or a thrown `LeedzApiError` carrying the problem's `code`.
 * (Empty 2xx answers such as 204 give `undefined`.)
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (!result.response.ok) throw new LeedzApiError(toProblem(result.response, result.error));
  return result.data as T;
}
