// A small JSON-RPC proxy in front of anvil that makes it misbehave the way real RPC providers do,
// on demand: down (HTTP 503), rate limited (429), behind by N blocks (a lagging node: its head,
// nonces, balances and receipts are those of an older block), or flapping between a lagging and a
// fresh node per request (a load balancer over nodes at different heights), or a block arriving in
// the middle of a batch (a node answering a batch's calls concurrently), or a receipt index that
// trails the node's own head by N blocks (geth indexes a block's transactions after importing it;
// head, nonces and balances are fresh, receipts of the newest N blocks not found yet), or a node
// that refuses a batch of more than N calls as geth does over its --rpc.batch-request-limit (one
// error for the whole batch, with the first call's id). The chain behind it
// is real; only the node in front of it is unreliable. Test stacks (ALLOW_FAULT_INJECTION) put it
// first in CHAIN_RPC_URL, with anvil itself as the second endpoint; tests and the chaos harness
// switch its mode with POST /__fault {"mode": "..."}.
export type ProxyMode =
  | "ok"
  | "down"
  | "429"
  | `lag:${number}`
  | `flap:${number}`
  | "mine_mid_batch"
  | `receipts_lag:${number}`
  | `batch_limit:${number}`;

type Call = { jsonrpc: "2.0"; id: number | string; method: string; params?: unknown[] };
type Answer = { jsonrpc: "2.0"; id: number | string; result?: unknown; error?: unknown };

const BLOCK_TAGS = new Set(["latest", "pending", "safe", "finalized"]);

export function isProxyMode(m: unknown): m is ProxyMode {
  return typeof m === "string" &&
    /^(ok|down|429|lag:\d{1,3}|flap:\d{1,3}|mine_mid_batch|receipts_lag:\d{1,3}|batch_limit:[1-9]\d{0,3})$/
      .test(m);
}

export function startChainProxy(upstream: string, port = 0) {
  let mode: ProxyMode = "ok";
  let requests = 0;
  const forward = async (calls: Call[]): Promise<Answer[]> => {
    if (!calls.length) return [];
    const res = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(calls),
    });
    return await res.json() as Answer[];
  };

  /** Answers as a node whose newest block is `lag` blocks behind the chain's. */
  const lagging = async (calls: Call[], lag: number): Promise<Answer[]> => {
    const [head] = await forward([{ jsonrpc: "2.0", id: 0, method: "eth_blockNumber" }]);
    const old = "0x" +
      BigInt(Math.max(0, Number(BigInt(head.result as string)) - lag)).toString(16);
    const rewritten = calls.map((c) => {
      const params = [...(c.params ?? [])];
      const at = { eth_getTransactionCount: 1, eth_getBalance: 1, eth_call: 1, eth_getCode: 1 }[
        c.method as "eth_call"
      ];
      if (at !== undefined && (params[at] === undefined || BLOCK_TAGS.has(String(params[at])))) {
        params[at] = old;
      }
      return { ...c, params };
    });
    const answers = await forward(rewritten.filter((c) => c.method !== "eth_blockNumber"));
    const byId = new Map(answers.map((a) => [a.id, a]));
    return rewritten.map((c) => {
      if (c.method === "eth_blockNumber") return { jsonrpc: "2.0", id: c.id, result: old };
      const a = byId.get(c.id)!;
      const r = a.result as { blockNumber?: string } | null | undefined;
      // A receipt from a block this node has not seen yet does not exist for it.
      if (
        c.method === "eth_getTransactionReceipt" && r?.blockNumber &&
        BigInt(r.blockNumber) > BigInt(old)
      ) {
        return { jsonrpc: "2.0", id: c.id, result: null };
      }
      return a;
    });
  };

  /** A node that answers a batch's calls concurrently while a block arrives: the receipts are
   * read before the block, everything else after it. */
  const midBatchBlock = async (calls: Call[]): Promise<Answer[]> => {
    const early = calls.filter((c) => c.method === "eth_getTransactionReceipt");
    const late = calls.filter((c) => c.method !== "eth_getTransactionReceipt");
    if (early.length === 0 || late.length === 0) return await forward(calls);
    const first = await forward(early);
    await forward([{ jsonrpc: "2.0", id: 0, method: "evm_mine" }]);
    const byId = new Map([...first, ...await forward(late)].map((a) => [a.id, a]));
    return calls.map((c) => byId.get(c.id)!);
  };

  /** A node whose receipt index has not reached its newest `lag` blocks yet. */
  const receiptsBehind = async (calls: Call[], lag: number): Promise<Answer[]> => {
    const [head] = await forward([{ jsonrpc: "2.0", id: 0, method: "eth_blockNumber" }]);
    const indexed = BigInt(head.result as string) - BigInt(lag);
    const byId = new Map((await forward(calls)).map((a) => [a.id, a]));
    return calls.map((c) => {
      const a = byId.get(c.id)!;
      const r = a.result as { blockNumber?: string } | null | undefined;
      return c.method === "eth_getTransactionReceipt" && r?.blockNumber &&
          BigInt(r.blockNumber) > indexed
        ? { jsonrpc: "2.0", id: c.id, result: null }
        : a;
    });
  };

  const server = Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/__fault") {
      const body = await req.json().catch(() => ({}));
      if (!isProxyMode(body.mode)) return Response.json({ error: "unknown mode" }, { status: 400 });
      mode = body.mode;
      requests = 0;
      return Response.json({ mode });
    }
    const payload = await req.json() as Call | Call[];
    const calls = Array.isArray(payload) ? payload : [payload];
    requests++;
    if (mode === "down") return new Response("upstream unavailable", { status: 503 });
    if (mode === "429") return new Response("rate limited", { status: 429 });
    if (mode.startsWith("batch_limit:") && calls.length > Number(mode.split(":")[1])) {
      return Response.json([{
        jsonrpc: "2.0",
        id: calls[0].id,
        error: { code: -32600, message: "batch too large" },
      }]);
    }
    let answers: Answer[];
    if (mode === "mine_mid_batch") {
      answers = await midBatchBlock(calls);
    } else if (mode.startsWith("receipts_lag:")) {
      answers = await receiptsBehind(calls, Number(mode.split(":")[1]));
    } else if (mode.startsWith("lag:") || (mode.startsWith("flap:") && requests % 2 === 0)) {
      answers = await lagging(calls, Number(mode.split(":")[1]));
    } else {
      answers = await forward(calls);
    }
    return Response.json(Array.isArray(payload) ? answers : answers[0]);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    /** Also restarts the request count: in flap mode the first request after it is fresh. */
    setMode: (m: ProxyMode) => {
      mode = m;
      requests = 0;
    },
    close: () => server.shutdown(),
  };
}

/** Switches a running proxy's mode over HTTP (tests, the chaos harness). */
export async function setChainFault(proxyUrl: string, mode: ProxyMode): Promise<void> {
  const res = await fetch(`${proxyUrl}/__fault`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ mode }),
  });
  if (!res.ok) throw new Error(`chain proxy refused mode ${mode}: ${await res.text()}`);
  await res.body?.cancel();
}
