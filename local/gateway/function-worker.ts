// One edge-function worker: a process of its own that imports one function's handler.ts and serves
// it on a loopback port, one request at a time (the gateway sends it no second request before the
// first has answered), so the process's CPU time is that request's CPU time. The gateway starts it
// with V8's heap capped (256 MB) and stops it at the platform's limits (function-pool.ts).
// Usage: function-worker.ts <handler-url>. Prints `READY_MARKER <port>` on stdout when it listens.
export const READY_MARKER = "__edge_worker_ready__";

type Handler = { fetch: (req: Request) => Response | Promise<Response> };

if (import.meta.main) {
  const handlerUrl = Deno.args[0];
  const handler = (await import(handlerUrl)).default as Handler;
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(`${READY_MARKER} ${port}`),
  }, (req) => handler.fetch(req));
}
