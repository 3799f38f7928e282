// A local stand-in for the one Paystack endpoint the functions call: GET
// /transaction/verify/:reference, answered in Paystack's shape ({"status": true, "message":
// "Verification successful", "data": {...}}; an unknown reference 400 {"status": false,
// "message": "Transaction reference not found"}; a wrong secret key 401 {"status": false,
// "message": "Invalid key"}). It knows only what a test registers:
//   POST /_local/transactions   body: the data object of a verify answer (by its reference)
//   POST /_local/outage         body: {"status": 503} answers every verify with that status,
//                               {"status": null} ends it; {"delay_ms": n} answers n ms late
// npm start points PAYSTACK_API_URL at it and writes paystack_api_url into stack.json.
type Outage = { status: number | null; delay_ms: number };

export function startPaystackApi(secretKey: string, port = 0) {
  const transactions = new Map<string, Record<string, unknown>>();
  let outage: Outage = { status: null, delay_ms: 0 };
  const answer = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8" },
    });

  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method === "POST" && url.pathname === "/_local/transactions") {
      const data = await req.json().catch(() => null);
      if (!data || typeof data !== "object" || typeof data.reference !== "string") {
        return answer(400, { status: false, message: "a transaction needs a reference" });
      }
      transactions.set(data.reference, data);
      return answer(200, { status: true, message: "registered" });
    }
    if (req.method === "POST" && url.pathname === "/_local/outage") {
      const body = await req.json().catch(() => ({}));
      outage = {
        status: typeof body.status === "number" ? body.status : null,
        delay_ms: typeof body.delay_ms === "number" ? body.delay_ms : 0,
      };
      return answer(200, { status: true, message: "ok", data: outage });
    }
    const verify = /^\/transaction\/verify\/([^/]+)$/.exec(url.pathname);
    if (req.method !== "GET" || !verify) {
      return answer(404, { status: false, message: "not found" });
    }
    if (outage.delay_ms) await new Promise((r) => setTimeout(r, outage.delay_ms));
    if (outage.status) {
      return answer(outage.status, { status: false, message: "Service unavailable" });
    }
    if (req.headers.get("authorization") !== `Bearer ${secretKey}`) {
      return answer(401, { status: false, message: "Invalid key" });
    }
    const data = transactions.get(decodeURIComponent(verify[1]));
    if (!data) return answer(400, { status: false, message: "Transaction reference not found" });
    return answer(200, { status: true, message: "Verification successful", data });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}
