// A minimal Ethereum JSON-RPC client over fetch. ethers' transport costs ~4x more per call in Deno
// and caches identical requests (stale nonces on anvil), so raw calls go through here; ethers is
// used for what it is good at: encoding and signing.
export class JsonRpcError extends Error {
  constructor(public code: number, message: string, public data?: unknown) {
    super(message);
  }
}

type Call = { method: string; params: unknown[] };

export class JsonRpc {
  #id = 0;
  constructor(readonly url: string, readonly timeoutMs = 10_000) {}

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const [r] = await this.batch<T>([{ method, params }]);
    if (r instanceof Error) throw r;
    return r;
  }

  /** One HTTP round trip for many calls; each result is the value or its JsonRpcError. */
  async batch<T = unknown>(calls: Call[]): Promise<(T | JsonRpcError)[]> {
    if (calls.length === 0) return [];
    const first = this.#id + 1;
    const payload = calls.map((c) => ({ jsonrpc: "2.0", id: ++this.#id, ...c }));
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new JsonRpcError(res.status, `chain RPC HTTP ${res.status}`);
    const body = await res.json() as {
      id: number;
      result?: T;
      error?: { code: number; message: string; data?: unknown };
    }[];
    const out: (T | JsonRpcError)[] = new Array(calls.length);
    for (const r of body) {
      out[r.id - first] = r.error
        ? new JsonRpcError(r.error.code, r.error.message, r.error.data)
        : (r.result as T);
    }
    return out;
  }
}
