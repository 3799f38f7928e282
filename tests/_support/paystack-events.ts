// Paystack events built from the published shapes in tests/fixtures/paystack/: a test changes
// values, never the set of fields. Used by the unit tests, the e2e tests, the chaos harness and
// the webhook benchmark.

export type PaystackJson = { event: string; data: Record<string, unknown> };
export type RefundStage = "pending" | "processing" | "needs-attention" | "processed" | "failed";
export type DisputeKind = "create" | "remind" | "resolve";

const dir = new URL("../fixtures/paystack/", import.meta.url);
const cache = new Map<string, string>();

/** A fresh copy of one published shape (file name without .json). */
export function paystackShape<T = PaystackJson>(name: string): T {
  let text = cache.get(name);
  if (text === undefined) {
    text = Deno.readTextFileSync(new URL(`${name}.json`, dir));
    cache.set(name, text);
  }
  return JSON.parse(text) as T;
}

let nextId = 4_100_000_000 + Math.floor(Math.random() * 1_000_000) * 1000;

/** A unique Paystack transaction id, as charges carry them. */
export const transactionId = () => ++nextId;

export type Charge = {
  reference: string;
  amount: number | string;
  currency?: string;
  id?: number;
  requested_amount?: number;
  metadata?: unknown;
};

/** charge.success as Paystack sends it. `requested_amount` only when given (Paystack sends it
 * for partial debits and newer integrations). */
export function chargeSuccess(c: Charge): PaystackJson {
  const e = paystackShape("charge.success");
  Object.assign(e.data, {
    id: c.id ?? transactionId(),
    reference: c.reference,
    amount: c.amount,
    currency: c.currency ?? "NGN",
  });
  if (c.requested_amount !== undefined) e.data.requested_amount = c.requested_amount;
  if ("metadata" in c) e.data.metadata = c.metadata;
  return e;
}

export type Refund = {
  reference: string;
  /** kobo; the published type of each stage (a string, or a number for refund.failed) unless given */
  amount: number | string;
  currency?: string;
  refund_reference?: string | null;
};

/** refund.<stage> as Paystack sends it: no data.id, the charge in transaction_reference. */
export function refundEvent(stage: RefundStage, r: Refund): PaystackJson {
  const e = paystackShape(`refund.${stage}`);
  const asPublished = typeof e.data.amount === "string" ? String(r.amount) : Number(r.amount);
  Object.assign(e.data, {
    transaction_reference: r.reference,
    amount: typeof r.amount === typeof e.data.amount ? r.amount : asPublished,
    currency: r.currency ?? "NGN",
  });
  if (r.refund_reference !== undefined) e.data.refund_reference = r.refund_reference;
  return e;
}

export type Dispute = {
  /** the dispute's id: the same for its create, remind and resolve */
  id: number;
  reference: string;
  amount: number;
  currency?: string;
  /** resolve only: "declined" (the merchant won), "merchant-accepted" or "auto-accepted" */
  resolution?: string;
};

/** charge.dispute.<kind> as Paystack sends it: the charge in data.transaction.reference and
 * "transaction_reference": null beside it. */
export function disputeEvent(kind: DisputeKind, d: Dispute): PaystackJson {
  const e = paystackShape(`charge.dispute.${kind}`);
  const t = e.data.transaction as Record<string, unknown>;
  Object.assign(t, { reference: d.reference, amount: d.amount, requested_amount: d.amount });
  Object.assign(e.data, {
    id: d.id,
    refund_amount: d.amount,
    currency: d.currency ?? "NGN",
  });
  if (kind === "resolve" && d.resolution) e.data.resolution = d.resolution;
  return e;
}

export type VerifiedTransaction = {
  reference: string;
  amount: number;
  currency?: string;
  status?: string;
  id?: number;
  requested_amount?: number;
};

/** The data object of GET /transaction/verify/:reference (what a test registers with the local
 * stand-in at POST <paystack_api_url>/_local/transactions). */
export function verifiedTransaction(v: VerifiedTransaction): Record<string, unknown> {
  const answer = paystackShape<{ data: Record<string, unknown> }>("transaction.verify");
  return Object.assign(answer.data, {
    id: v.id ?? transactionId(),
    reference: v.reference,
    amount: v.amount,
    currency: v.currency ?? "NGN",
    status: v.status ?? "success",
    requested_amount: v.requested_amount ?? v.amount,
  });
}
