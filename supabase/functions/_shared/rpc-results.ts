// What each RPC answers, defined once: one zod schema per RPC whose result TypeScript reads, shared
// by the edge functions (rpc in supabase.ts) and the console (call in console/src/api.ts). The
// callers' types are inferred from these schemas, and every answer is parsed with them: a key the
// SQL renames or drops fails the parse (and so a test on the real stack), a key TypeScript reads
// that no schema has fails `deno check`. Test stacks (RPC_RESULTS_STRICT=1) also refuse keys a
// schema does not list, so a schema that falls behind its SQL fails a test; production ignores
// them, so a database migrated before its callers keeps working.
//
// Amounts are decimal text (numeric(78,0) and money as `::text` or app.money_text): never a JS
// number. JSON numbers are counts, ids, nonces, block numbers and chain ids.
import { z } from "zod";
import {
  type Database,
  InvestmentStatuses,
  LiveTransferStatuses,
  SlotStatuses,
  TransferStatuses,
} from "./database.types.ts";

const text = z.string();
const nullableText = z.string().nullable();
/** A decimal amount as text: exact. */
const amount = z.string();
const count = z.number();
/** A timestamptz as Postgres writes it into JSON. */
const time = z.string();

/** The fields a transfer is signed from (chain.ts signs exactly these). */
const signable = {
  token_address: text,
  to_address: text,
  amount,
  nonce: count,
  chain_id: count,
  gas_limit: count,
  max_fee_per_gas: amount,
  max_priority_fee_per_gas: amount,
};

/** app.transfer_json: a stored transfer whole, in any state. */
const transfer = z.object({
  ...signable,
  transfer_id: text,
  tokenization_id: text,
  user_id: text,
  signer: text,
  status: z.enum(TransferStatuses),
  tx_hash: nullableText,
  raw_tx: nullableText,
  block_number: count.nullable(),
  attempt_hashes: z.array(text),
  investment_ids: z.array(text),
  updated_at: time,
});

/** A transfer the reconciler repairs: unmined and stale, or mined and waiting for depth. */
const stuckTransfer = transfer.extend({
  status: z.enum(LiveTransferStatuses),
  /** The chain's caps (admin_set_chain_policy): no replacement is signed above them. */
  fee_cap: amount,
  tip_cap: amount,
});

const holderKey = z.object({ user_id: text, tokenization_id: text });

const paystackOutcome = z.object({
  outcome: text,
  investment_id: nullableText,
  user_id: nullableText,
  payment_status: z.enum(InvestmentStatuses).nullable(),
  reason: nullableText,
  event_id: count,
});
const paystackDuplicate = z.object({
  outcome: z.literal("duplicate"),
  investment_id: nullableText,
  user_id: nullableText,
  first_outcome: text,
  event_id: count,
});

const slotStatus = z.enum(SlotStatuses);

/** app.slot_json. */
const slot = z.object({
  slot_number: count,
  /** A percentage: a JSON number of at most a few decimals, shown as it came. */
  ros_percentage: z.number(),
  scheduled_for: time,
  status: slotStatus,
  started_at: time.nullable(),
  executed_at: time.nullable(),
  users_processed: count,
  total_distributed: amount,
  error_count: count,
  error_message: nullableText,
});

/** app.declaration_json: a day's distribution with its slots. */
const declaration = z.object({
  distribution_date: text,
  status: text,
  multi_slot_enabled: z.boolean(),
  premium_pool: amount,
  performance_pool: amount,
  description: nullableText,
  total_ros_percentage: z.number(),
  total_distributed: amount.nullable(),
  slots: z.array(slot),
  created_at: time,
  updated_at: time,
});

/** app.chain_policy_json. */
const chainPolicy = z.object({
  chain_id: count,
  max_fee_per_gas: amount,
  max_priority_fee_per_gas: amount,
  min_confirmations: count,
});

/** Alerts are records of their kind: `kind` always, the rest by kind (alert-text.ts reads them). */
const tokenAlert = z.object({
  kind: text,
  since: time.nullable().optional(),
  hint: text.optional(),
  investment_id: nullableText.optional(),
  user_id: nullableText.optional(),
}).catchall(z.unknown());

export const rpcResults = {
  // The token pipeline (edge functions).
  /** Transfers just planned, as every reader of transfers sees them (app.transfer_json). */
  claim_token_distributions: z.array(transfer.extend({ status: z.literal("planned") })),
  confirm_token_transfers: z.array(z.object({
    transfer_id: text,
    status: z.enum(["confirmed", "mined"]),
    already_confirmed: z.boolean(),
    confirmations: count.nullable().optional(),
    min_confirmations: count.optional(),
  })),
  distribution_backlog: z.object({
    deferred: count,
    deferred_reason: z.enum(["fee_cap", "treasury_tokens", "treasury_gas", "token_unreadable"])
      .nullable(),
  }),
  fail_token_transfer: z.object({
    transfer_id: text,
    status: z.literal("failed"),
    already_failed: z.boolean(),
    released: count,
    nonce_released: z.boolean().optional(),
  }),
  recently_confirmed_transfers: z.array(z.object({
    transfer_id: text,
    user_id: text,
    tokenization_id: text,
    chain_id: count,
    signer: text,
    tx_hash: text,
    block_number: count,
    amount,
  })),
  released_nonces: z.object({
    released: z.array(count),
    max_live_nonce: count.nullable(),
    max_fee_per_gas: amount.nullable(),
    max_priority_fee_per_gas: amount.nullable(),
    chain_next_is_gap: z.boolean(),
  }),
  token_audit_targets: z.object({
    holders: z.array(z.object({
      user_id: text,
      tokenization_id: text,
      wallet_address: nullableText,
      token_address: text,
      chain_id: count,
      holdings: amount,
      distributed: amount,
      in_flight: amount,
    })),
    next_after: holderKey.nullable(),
    from: holderKey.nullable(),
    tokens: z.array(z.object({
      tokenization_id: text,
      token_address: text,
      chain_id: count,
      holdings_total: amount,
      in_flight_total: amount,
    })),
    pass: z.object({
      started_at: time.nullable(),
      audited: count,
      holders: count,
      last_completed_at: time.nullable(),
      last_pass_holders: count.nullable(),
    }),
  }),
  transfers_to_reconcile: z.array(stuckTransfer),
  transfers_to_resend: z.array(z.object({ transfer_id: text, tx_hash: text, raw_tx: text })),
  treasury_token_addresses: z.array(text),

  // Payments.
  record_paystack_event: z.union([paystackDuplicate, paystackOutcome]),
  record_paystack_verification: z.union([
    paystackDuplicate,
    paystackOutcome,
    z.object({ outcome: z.literal("unprocessable"), reason: text }),
    z.object({ outcome: z.literal("still_pending"), paystack_status: nullableText }),
  ]),

  // The console.
  admin_alert_channels: z.array(z.object({
    name: text,
    kind: text,
    enabled: z.boolean(),
    url_host: nullableText,
    signed: z.boolean(),
    updated_at: time,
    last_delivered_at: time.nullable(),
    failed_deliveries: count,
  })),
  admin_alert_log: z.array(z.object({
    id: count,
    kind: text,
    subject: text,
    detail: z.record(z.unknown()),
    state: z.enum(["open", "acknowledged", "resolved"]),
    first_seen: time,
    last_seen: time,
    resolved_at: time.nullable(),
    notified_at: time.nullable(),
    acknowledged_at: time.nullable(),
    acknowledged_by: nullableText,
    acknowledge_note: nullableText,
    action: text,
  })),
  admin_audit_log: z.array(z.object({
    id: count,
    actor: nullableText,
    actor_role: text,
    action: text,
    target: z.unknown(),
    before: z.unknown(),
    after: z.unknown(),
    created_at: time,
  })),
  admin_distribution_history: z.array(declaration),
  admin_distribution_status: declaration,
  admin_distribution_report_page: z.object({
    tokenization_id: text,
    order: text,
    rows: z.array(z.object({
      user_id: text,
      email: nullableText,
      name: nullableText,
      distributed: amount,
      holdings: amount,
      in_flight: amount,
      waiting: amount,
      discrepancy: z.boolean(),
    })),
    next_after: nullableText,
    totals: z.object({
      holdings: amount.nullable(),
      holders: count,
      distributed: amount.nullable(),
      in_flight: amount.nullable(),
      waiting: amount.nullable(),
      waiting_investments: count.nullable(),
      discrepancies: count,
    }),
  }),
  admin_investors: z.array(z.object({ user_id: text, email: nullableText, name: nullableText })),
  admin_overview: z.object({
    today: text,
    slots: z.array(z.object({
      slot_number: count,
      status: slotStatus,
      ros_percentage: z.number(),
      scheduled_for: time,
      users_processed: count,
      total_distributed: amount,
    })),
    alerts: z.array(z.object({ kind: text, count })),
    tokens: z.object({
      distributed_today: amount,
      transfers_today: count,
      waiting_investments: count,
      waiting_tokens: amount,
      in_flight: count,
    }),
    reconciliation: z.object({ last_run_at: time.nullable(), age_seconds: count.nullable() }),
    daily: z.array(z.object({ day: text, ros_paid: amount, tokens_distributed: amount })),
  }),
  admin_paystack_event: z.object({
    event_id: count,
    event_type: text,
    identity: text,
    reference: nullableText,
    outcome: nullableText,
    reason: nullableText,
    investment_id: nullableText,
    source: text,
    received_at: time,
    dismissed_at: time.nullable(),
    payload: z.unknown(),
    raw_body: nullableText,
  }),
  admin_queue_distribution: declaration.extend({
    created: z.boolean(),
    untouched_slots: z.array(count),
  }),
  admin_retry_slot: slot.extend({ paid_now: count, queued: z.boolean() }),
  admin_ros_alerts: z.array(z.object({
    kind: text,
    distribution_date: text,
    slot_number: count.nullable(),
    detail: z.record(z.unknown()),
  })),
  admin_set_chain_policy: chainPolicy,
  admin_token_alerts: z.array(tokenAlert),
  admin_tokenizations: z.array(z.object({
    tokenization_id: text,
    property_id: text,
    chain_id: count,
    token_address: text,
    unreadable: z.boolean(),
  })),
} satisfies Partial<Record<keyof Functions & string, z.ZodTypeAny>>;

type Functions = Database["public"]["Functions"];
type Shaped = keyof typeof rpcResults;

/** What an RPC answers: its schema's type, else the generated type (scalars, rows, or `Json` for a
 * jsonb answer no caller reads). */
export type RpcResult<F extends keyof Functions> = F extends Shaped
  ? z.output<(typeof rpcResults)[F]>
  : Functions[F]["Returns"];

/** The same schema refusing keys it does not list, at every depth (test stacks). */
function strictly(s: z.ZodTypeAny): z.ZodTypeAny {
  if (s instanceof z.ZodObject) {
    const shape = Object.fromEntries(
      Object.entries(s.shape as Record<string, z.ZodTypeAny>).map(([k, v]) => [k, strictly(v)]),
    );
    // A catch-all (an alert's fields by kind) stays open.
    const open = !(s._def.catchall instanceof z.ZodNever);
    return open ? z.object(shape).catchall(s._def.catchall) : z.object(shape).strict();
  }
  if (s instanceof z.ZodArray) return z.array(strictly(s.element));
  if (s instanceof z.ZodNullable) return strictly(s.unwrap()).nullable();
  if (s instanceof z.ZodOptional) return strictly(s.unwrap()).optional();
  if (s instanceof z.ZodUnion) {
    return z.union((s.options as z.ZodTypeAny[]).map(strictly) as [z.ZodTypeAny, z.ZodTypeAny]);
  }
  return s;
}

const strictSchemas = new Map<string, z.ZodTypeAny>();

function strictMode(): boolean {
  // The console runs in a browser: no Deno there, and never strict.
  const deno = (globalThis as { Deno?: { env: { get(k: string): string | undefined } } }).Deno;
  try {
    return deno?.env.get("RPC_RESULTS_STRICT") === "1";
  } catch {
    return false; // no permission to read the environment
  }
}

/** An answer that is not what its schema says: the caller's error, never a silent undefined. */
export class RpcResultError extends Error {
  constructor(readonly fn: string, readonly issues: string) {
    super(`${fn} answered an unexpected shape: ${issues}`);
  }
}

/** Parses an RPC's answer with its schema (as is when it has none). */
export function parseResult<F extends keyof Functions & string>(
  fn: F,
  data: unknown,
): RpcResult<F> {
  const schema = (rpcResults as Record<string, z.ZodTypeAny>)[fn];
  if (!schema) return data as RpcResult<F>;
  let s = schema;
  if (strictMode()) {
    s = strictSchemas.get(fn) ?? strictly(schema);
    strictSchemas.set(fn, s);
  }
  const r = s.safeParse(data);
  if (!r.success) {
    throw new RpcResultError(
      fn,
      r.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(answer)"}: ${i.message}`)
        .join("; "),
    );
  }
  return r.data as RpcResult<F>;
}
