// The local stand-in for Supabase's API gateway: PostgREST's RPC subset at /rest/v1, the edge
// functions at /functions/v1, and the net.http_post drainer. Started by local/stack.ts.
import postgres from "postgres";
import { authApi } from "./auth/api.ts";
import { authenticate } from "./gateway/auth.ts";
import { serveStatic } from "./gateway/static.ts";
import { jsonResponse } from "./gateway/errors.ts";
import { type FunctionOptions, functionRouter } from "./gateway/functions.ts";
import { startNetDrainer } from "./gateway/net-drainer.ts";
import { callRpc, readArgs } from "./gateway/rpc.ts";
import { selectRelation } from "./gateway/relation.ts";
import { POOL_SIZE } from "./gateway/transaction.ts";
import { log } from "./gateway/log.ts";
import { limitBody } from "./gateway/body-limit.ts";

export type GatewayOptions = {
  port: number;
  dbUrl: string;
  jwtSecret: string;
  drain?: boolean;
  /** Static files served at /console/ (the operator console's build), if any. */
  consoleDir?: string;
  /** The edge functions served and their limits (tests); the project's, at hosted limits, else. */
  functions?: FunctionOptions;
};

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers":
    "authorization, x-client-info, apikey, content-type, prefer, x-supabase-api-version",
  "access-control-allow-methods": "GET, POST, OPTIONS",
};

export async function startGateway(opts: GatewayOptions) {
  // A small pool: each request is one short transaction.
  // connect_timeout: while Postgres restarts, fail fast (503) instead of holding a request 30 s.
  const sql = postgres(opts.dbUrl, {
    max: POOL_SIZE,
    onnotice: () => {},
    prepare: false,
    // One request's message in flight per connection: a reset connection then proves that message
    // never ran (gateway/errors.ts, neverDelivered), so it is safe to send again. (A postgres.js
    // option its type declarations leave out.)
    ...{ max_pipeline: 1 } as object,
    connect_timeout: 3,
    // postgres.js delays a reconnect by 3^n/100 s (up to 20 s) after n connection errors, counted
    // across the pool: after a restart has killed all eight connections, that held requests for
    // 10-20 s. The gateway's own retry (gateway/transaction.ts) paces itself; reconnect promptly.
    backoff: (n: number) => Math.min(0.02 * n, 0.25),
  });
  const listenSql = postgres(opts.dbUrl, { max: 2, onnotice: () => {}, connect_timeout: 3 });
  const functions = functionRouter(opts.jwtSecret, opts.functions);
  let authEndpoints: ReturnType<typeof authApi> | null = null;

  async function handle(original: Request, ip: string): Promise<Response> {
    const url = new URL(original.url);
    if (original.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS });
    const fn = /^\/functions\/v1\/([^/]+)\/?$/.exec(url.pathname);
    // Each function reads (and limits) its own body: the webhook keeps its 64 KiB.
    if (fn) return await functions.route(fn[1], original);
    if (opts.consoleDir && url.pathname === "/console") {
      // Relative assets resolve against the directory: without its slash they would miss.
      return new Response(null, {
        status: 301,
        headers: { location: `/console/${url.search}` },
      });
    }
    if (opts.consoleDir && url.pathname.startsWith("/console/")) {
      return await serveStatic(opts.consoleDir, url.pathname.replace(/^\/console/, ""));
    }
    // The API's bodies are bounded before anything reads them or a connection is taken.
    const req = await limitBody(original);
    if (req instanceof Response) return req;
    const authPath = /^\/auth\/v1\/(.+?)\/?$/.exec(url.pathname);
    if (authPath) {
      authEndpoints ??= authApi(sql, opts.jwtSecret, `${url.origin}/auth/v1`);
      return await authEndpoints(req, authPath[1], url, ip);
    }
    const rest = /^\/rest\/v1\/(rpc\/)?([^/]+)\/?$/.exec(url.pathname);
    if (!rest) return jsonResponse(404, { message: "not found" });
    const auth = authenticate(req, opts.jwtSecret);
    if (!auth.ok) {
      return jsonResponse(401, {
        code: "PGRST301",
        message: auth.message,
        details: null,
        hint: null,
      });
    }
    if (!rest[1]) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return jsonResponse(405, { code: "PGRST117", message: "only GET on relations" });
      }
      return await selectRelation(sql, auth.caller, rest[2], url.searchParams);
    }
    // PostgREST runs functions for GET, HEAD and POST only.
    if (!["GET", "HEAD", "POST"].includes(req.method)) {
      return jsonResponse(405, {
        code: "PGRST117",
        message: `Unsupported HTTP method: ${req.method}`,
        details: null,
        hint: null,
      }, { allow: "GET, HEAD, POST" });
    }
    const args = await readArgs(req, url);
    if (!args.ok) {
      return jsonResponse(400, {
        code: "PGRST102",
        message: args.message,
        details: null,
        hint: null,
      });
    }
    return await callRpc(sql, auth.caller, rest[2], args, req.method);
  }

  const server = Deno.serve(
    { port: opts.port, hostname: "127.0.0.1", onListen: () => {} },
    async (req, info) => {
      try {
        const res = await handle(req, info.remoteAddr.hostname);
        for (const [k, v] of Object.entries(CORS)) res.headers.set(k, v);
        return res;
      } catch (e) {
        log("error", "gateway request failed", {
          path: new URL(req.url).pathname,
          error: String(e),
        });
        return jsonResponse(500, { code: "PGRST000", message: "gateway error" });
      }
    },
  );
  const drainer = opts.drain === false ? null : startNetDrainer(listenSql);
  await drainer?.ready;

  return {
    // The bound port: a test may ask for port 0.
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await drainer?.stop();
      await server.shutdown();
      await functions.close();
      await Promise.all([sql.end({ timeout: 2 }), listenSql.end({ timeout: 2 })]);
    },
  };
}
