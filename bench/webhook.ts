// The Paystack webhook under load: signed charge.success and refund events over loopback through
// the gateway to the real function and database, each delivered 3 times (Paystack retries), from
// 32 concurrent senders. Beside it, in the same run: the same gateway answering `health` at the
// same concurrency (what HTTP, JWT-less routing and one database round trip cost by themselves).
import type postgres from "postgres";
import type { StackInfo } from "../local/stack.ts";
import { paystackSignature } from "../supabase/functions/_shared/paystack-signature.ts";

export type LoadResult = { requests: number; perSecond: number; p50: number; p99: number };
export type WebhookResult = {
  events: number;
  webhook: LoadResult;
  health: LoadResult;
  /** Distinct events applied more than once (must be 0). */
  doubleApplied: number;
  /** Deliveries answered with anything but 200 (must be 0). */
  failed: number;
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Sends every request from `concurrency` workers; returns the latencies and the answers. */
async function load(requests: (() => Promise<Response>)[], concurrency: number) {
  const latencies: number[] = [];
  const answers: { status: number; outcome?: string; index: number }[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const index = next++;
      const t0 = performance.now();
      const res = await requests[index]();
      const body = await res.json().catch(() => ({}));
      latencies.push(performance.now() - t0);
      answers.push({ status: res.status, outcome: body.outcome, index });
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    result: {
      requests: requests.length,
      perSecond: requests.length / seconds,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
    },
    answers,
  };
}

export async function benchWebhook(
  sql: postgres.Sql,
  stack: StackInfo,
  investments: number,
): Promise<WebhookResult> {
  await sql`update app.settings set value = 'off' where key = 'auto_distribute'`;
  const [{ id: user }] = await sql<{ id: string }[]>`
    insert into auth.users (email) values ('webhook-bench-' || gen_random_uuid() || '@bench.test')
    returning id`;
  const refs = await sql<{ reference: string }[]>`
    insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference)
    select ${user}, ${stack.tokenization_id}, 1, 10, 1000, 'NGN', 'WH-' || gen_random_uuid()
      from generate_series(1, ${investments})
    returning reference`;
  // Every investment is paid; every other one is then refunded.
  const events: string[] = [];
  refs.forEach(({ reference }, i) => {
    events.push(JSON.stringify({
      event: "charge.success",
      data: {
        id: `wh-c-${reference}`,
        reference,
        amount: 1000,
        currency: "NGN",
        status: "success",
      },
    }));
    if (i % 2 === 0) {
      events.push(JSON.stringify({
        event: "refund.processed",
        data: {
          id: `wh-r-${reference}`,
          transaction_reference: reference,
          amount: "1000",
          currency: "NGN",
        },
      }));
    }
  });
  const url = `${stack.api_url}/functions/v1/paystack-webhook`;
  const deliveries = events.flatMap((body, event) =>
    [0, 1, 2].map(() => ({
      body,
      event,
      sig: paystackSignature(new TextEncoder().encode(body), stack.paystack_secret_key),
    }))
  );
  // Retries arrive mixed with other events, as they would from Paystack.
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j], deliveries[i]];
  }
  const webhook = await load(
    deliveries.map((d) => () =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-paystack-signature": d.sig },
        body: d.body,
      })
    ),
    32,
  );
  const health = await load(
    deliveries.map(() => () => fetch(`${stack.api_url}/rest/v1/rpc/health`, { method: "POST" })),
    32,
  );
  const applied = new Map<number, number>();
  for (const a of webhook.answers) {
    if (a.status === 200 && a.outcome !== "duplicate") {
      const e = deliveries[a.index].event;
      applied.set(e, (applied.get(e) ?? 0) + 1);
    }
  }
  await sql`update app.settings set value = 'on' where key = 'auto_distribute'`;
  return {
    events: events.length,
    webhook: webhook.result,
    health: health.result,
    doubleApplied: [...applied.values()].filter((n) => n > 1).length,
    failed: webhook.answers.filter((a) => a.status !== 200).length,
  };
}
