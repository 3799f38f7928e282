// A minimal Ethereum JSON-RPC client over fetch. ethers' transport costs ~4x more per call in Deno
// and caches identical requests (stale nonces on anvil), so raw calls go through here; ethers is
// used for what it is good at: encoding and signing.
export class JsonRpcError extends Error {
  constructor(public code: number, message: string, public data?: unknown) {
    super(message);
  }
}

/**
 * The node refused the batch for its size: geth (`--rpc.batch-request-limit`, 1000 by default),
 * Alchemy (1000), Polygon's bor (100) answer a batch over their limit with one error for all of it
 * ("batch too large", -32600); a proxy may answer HTTP 413. The endpoint is healthy: smaller
 * batches go through (`JsonRpc.batches`).
 */
export class BatchTooLargeError extends JsonRpcError {
  constructor(readonly size: number, message: string) {
    super(-32600, `a batch of ${size} calls was refused as too large: ${message}`);
  }
}

export type Call = { method: string; params: unknown[] };

/** Calls per batch to begin with: bor's default, the smallest of the nodes above; a node with a
 * lower limit halves it on its first refusal. */
export const DEFAULT_BATCH_LIMIT = 100;

/** How a node words the refusal: geth says "batch too large"; others name the batch in words of
 * their own. Not "too many": a rate limit ("too many requests") is a failing endpoint, and halving
 * would only send it more requests. */
const TOO_LARGE = /batch|too large/i;

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

  /** The most calls `batches` puts in one HTTP request; lowered when a node refuses a size. */
  batchLimit: number;

  constructor(
    readonly url: string,
    readonly timeoutMs = 10_000,
    batchLimit = DEFAULT_BATCH_LIMIT,
  ) {
    this.urls = url.split(",").map((u) => u.trim()).filter(Boolean);
    if (this.urls.length === 0) throw new Error("no chain RPC endpoint");
    if (!Number.isInteger(batchLimit) || batchLimit < 1) throw new Error("batch limit below 1");
    this.batchLimit = batchLimit;
    this.#restUntil = this.urls.map(() => 0);
    this.#failures = this.urls.map(() => 0);
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const [r] = await this.batch<T>([{ method, params }]);
    if (r instanceof Error) throw r;
    return r;
  }

  /**
   * One HTTP round trip for many calls, answered by one node; each result is the value or its
   * JsonRpcError. A batch too large for every endpoint throws BatchTooLargeError.
   */
  async batch<T = unknown>(calls: Call[]): Promise<(T | JsonRpcError)[]> {
    if (calls.length === 0) return [];
    const now = Date.now();
    // Endpoints not resting first, in the listed order; resting ones last, as a last resort.
    const order = this.urls.map((_, i) => i).sort((a, b) =>
      Number(this.#restUntil[a] > now) - Number(this.#restUntil[b] > now) || a - b
    );
    let last: unknown = null;
    let tooLarge: BatchTooLargeError | null = null;
    for (const i of order) {
      try {
        const out = await this.#send<T>(this.urls[i], calls);
        this.#failures[i] = 0;
        this.#restUntil[i] = 0;
        return out;
      } catch (e) {
        last = e;
        // A refusal of the size is an answer from a working node: it does not rest for it.
        if (e instanceof BatchTooLargeError) {
          tooLarge = e;
          continue;
        }
        this.#failures[i]++;
        this.#restUntil[i] = Date.now() +
          Math.min(REST_MS * 2 ** (this.#failures[i] - 1), 30_000);
      }
    }
    throw tooLarge ?? last;
  }

  /**
   * Any number of calls, in batches of at most `batchLimit`, sent one after another in order (a
   * broadcast's nonces arrive in order). A batch refused for its size is sent again in halves,
   * and the limit stays halved for this client. `each` calls go first in every batch and are
   * answered per batch (`each[k]` is batch k's): a caller that needs to know what a batch's node
   * had seen (its head) reads it there, since the batches may be answered by different nodes.
   */
  async batches<T = unknown>(
    calls: Call[],
    each: Call[] = [],
  ): Promise<{ results: (T | JsonRpcError)[]; each: (unknown | JsonRpcError)[][] }> {
    const results: (T | JsonRpcError)[] = [];
    const perBatch: (unknown | JsonRpcError)[][] = [];
    let at = 0;
    while (at < calls.length) {
      const room = Math.max(1, this.batchLimit - each.length);
      const part = calls.slice(at, at + room);
      let answers: unknown[];
      try {
        answers = await this.batch([...each, ...part]);
      } catch (e) {
        // Halves until one call goes with `each`; a node refusing even that is an error.
        if (e instanceof BatchTooLargeError && part.length > 1) {
          this.batchLimit = Math.max(1, Math.floor((each.length + part.length) / 2));
          continue;
        }
        throw e;
      }
      perBatch.push(answers.slice(0, each.length));
      results.push(...answers.slice(each.length) as (T | JsonRpcError)[]);
      at += part.length;
    }
    return { results, each: perBatch };
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
    if (res.status === 413) {
      await res.body?.cancel();
      throw new BatchTooLargeError(calls.length, "HTTP 413");
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new JsonRpcError(res.status, `chain RPC HTTP ${res.status}`);
    }
    type Answer = {
      id: unknown;
      result?: T;
      error?: { code: number; message: string; data?: unknown };
    };
    const body = await res.json() as Answer | Answer[];
    // One error for a batch of several, about its size: the node refused the batch as a whole
    // (geth answers it with the first call's id, others with none). Any other lone error (a rate
    // limit) is a failing endpoint, below.
    const whole = Array.isArray(body) ? (body.length === 1 ? body[0] : null) : body;
    const said = whole?.error?.message;
    if (calls.length > 1 && typeof said === "string" && TOO_LARGE.test(said)) {
      throw new BatchTooLargeError(calls.length, said);
    }
    // Every call answered exactly once, by its id: a node that loses, repeats or invents an
    // answer must not leave a hole that a caller reads as "no receipt".
    const out: (T | JsonRpcError)[] = new Array(calls.length);
    let answered = 0;
    for (const r of Array.isArray(body) ? body : []) {
      const k = typeof r?.id === "number" ? r.id - first : -1;
      if (!(k >= 0 && k < calls.length) || k in out) break;
      out[k] = r.error
        ? new JsonRpcError(r.error.code, r.error.message, r.error.data)
        : (r.result as T);
      answered++;
    }
    if (!Array.isArray(body) || body.length !== calls.length || answered !== calls.length) {
      throw new JsonRpcError(-32603, "chain RPC answered an unreadable batch");
    }
    return out;
  }
}
