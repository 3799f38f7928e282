// A minimal Ethereum JSON-RPC client over fetch. ethers' transport costs ~4x more per call in Deno
// and caches identical requests (stale nonces on anvil), so raw calls go through here; ethers is
// used for what it is good at: encoding and signing.
export class JsonRpcError extends Error {
  constructor(public code: number, message: string, public data?: unknown) {
    super(message);
  }
}

type Call = { method: string; params: unknown[] };

/** An endpoint that failed rests this long (doubling per failure, at most 30 s) before it is tried first again. */
const REST_MS = 1_000;

/**
 * CHAIN_RPC_URL may list several endpoints, comma-separated. A call goes to the first endpoint not
 * resting; a transport failure, a timeout, HTTP 429 or 5xx, or an unreadable answer moves it to
 * the next (the failed one rests, with backoff). A JSON-RPC error is an answer, not a failure:
 * it is returned as is. When every endpoint fails, the call throws: an RPC failure is never read
 * as "not mined" or "no nonce".
 */
export class JsonRpc {
  #id = 0;
  readonly urls: string[];
  #restUntil: number[];
  #failures: number[];

  constructor(readonly url: string, readonly timeoutMs = 10_000) {
    this.urls = url.split(",").map((u) => u.trim()).filter(Boolean);
    if (this.urls.length === 0) throw new Error("no chain RPC endpoint");
    this.#restUntil = this.urls.map(() => 0);
    this.#failures = this.urls.map(() => 0);
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const [r] = await this.batch<T>([{ method, params }]);
    if (r instanceof Error) throw r;
    return r;
  }

  /** One HTTP round trip for many calls; each result is the value or its JsonRpcError. */
  async batch<T = unknown>(calls: Call[]): Promise<(T | JsonRpcError)[]> {
    if (calls.length === 0) return [];
    const now = Date.now();
    // Endpoints not resting first, in the listed order; resting ones last, as a last resort.
    const order = this.urls.map((_, i) => i).sort((a, b) =>
      Number(this.#restUntil[a] > now) - Number(this.#restUntil[b] > now) || a - b
    );
    let last: unknown = null;
    for (const i of order) {
      try {
        const out = await this.#send<T>(this.urls[i], calls);
        this.#failures[i] = 0;
        this.#restUntil[i] = 0;
        return out;
      } catch (e) {
        last = e;
        this.#failures[i]++;
        this.#restUntil[i] = Date.now() +
          Math.min(REST_MS * 2 ** (this.#failures[i] - 1), 30_000);
      }
    }
    throw last;
  }

  async #send<T>(url: string, calls: Call[]): Promise<(T | JsonRpcError)[]> {
    const first = this.#id + 1;
    const payload = calls.map((c) => ({ jsonrpc: "2.0", id: ++this.#id, ...c }));
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new JsonRpcError(res.status, `chain RPC HTTP ${res.status}`);
    }
    const body = await res.json() as {
      id: number;
      result?: T;
      error?: { code: number; message: string; data?: unknown };
    }[];
    if (!Array.isArray(body) || body.length !== calls.length) {
      throw new JsonRpcError(-32603, "chain RPC answered an unreadable batch");
    }
    const out: (T | JsonRpcError)[] = new Array(calls.length);
    for (const r of body) {
      out[r.id - first] = r.error
        ? new JsonRpcError(r.error.code, r.error.message, r.error.data)
        : (r.result as T);
    }
    return out;
  }
}
