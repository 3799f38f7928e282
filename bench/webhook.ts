// The Paystack webhook under load: signed charge.success and refund events over loopback through
// the gateway to the real function and database, each delivered 3 times (Paystack retries), from
// 32 concurrent senders. Beside it, in the same run and at the same concurrency: the same gateway
// answering `health` (what HTTP, JWT-less routing and one database round trip cost by themselves),
// and the same events recorded by record_paystack_event straight from 32 database connections,
// each call in its own transaction as the gateway runs it (what the database alone costs: no HTTP,
// no function).
import postgres from "postgres";
import type { StackInfo } from "../local/stack.ts";
import { paystackSignature } from "../supabase/functions/_shared/paystack-signature.ts";

export type LoadResult = { requests: number; perSecond: number; p50: number; p99: number };
export type WebhookResult = {
  events: number;
  webhook: LoadResult;
  health: LoadResult;
  database: LoadResult;
  /** Distinct events applied more than once (must be 0). */
  doubleApplied: number;
  /** Deliveries answered with anything but 200 (must be 0). */
  failed: number;
};

/** Shuffles in place (Fisher-Yates) and returns the array. */
function shuffled<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

type Answer = { status: number; outcome?: string };

/** An HTTP request's answer: its status and the outcome in its JSON body. */
async function answerOf(res: Promise<Response>): Promise<Answer> {
  const r = await res;
  const body = await r.json().catch(() => ({}));
  return { status: r.status, outcome: body.outcome };
}

/** Sends every request from `concurrency` workers; returns the latencies and the answers. */
async function load(requests: (() => Promise<Answer>)[], concurrency: number) {
  const latencies: number[] = [];
  const answers: { status: number; outcome?: string; index: number }[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const index = next++;
      const t0 = performance.now();
      const a = await requests[index]();
      latencies.push(performance.now() - t0);
      answers.push({ ...a, index });
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
  // Two like sets of pending investments: one paid through the webhook, one straight in the
  // database (the second baseline); every investment is paid, every other one then refunded.
  const eventsFor = async () => {
    const refs = await sql<{ reference: string }[]>`
      insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference)
      select ${user}, ${stack.tokenization_id}, 1, 10, 1000, 'NGN', 'WH-' || gen_random_uuid()
        from generate_series(1, ${investments})
      returning reference`;
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
    return events;
  };
  const events = await eventsFor();
  const direct = shuffled((await eventsFor()).flatMap((body) => [body, body, body]));
  const url = `${stack.api_url}/functions/v1/paystack-webhook`;
  const deliveries = events.flatMap((body, event) =>
    [0, 1, 2].map(() => ({
      body,
      event,
      sig: paystackSignature(new TextEncoder().encode(body), stack.paystack_secret_key),
    }))
  );
  // Retries arrive mixed with other events, as they would from Paystack.
  shuffled(deliveries);
  const webhook = await load(
    deliveries.map((d) => () =>
      answerOf(fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-paystack-signature": d.sig },
        body: d.body,
      }))
    ),
    32,
  );
  const health = await load(
    deliveries.map(() => () =>
      answerOf(fetch(`${stack.api_url}/rest/v1/rpc/health`, { method: "POST" }))
    ),
    32,
  );
  const db = postgres(stack.db_url, { max: 32, onnotice: () => {} });
  const claims = JSON.stringify({ role: "service_role" });
  const database = await load(
    direct.map((body) => () =>
      db.begin(async (tx) => {
        // The settings run first (execute() sends them now); the call is pipelined behind them.
        const setup = tx`select set_config('role', 'service_role', true),
                                set_config('request.jwt.claims', ${claims}, true)`.execute();
        const [, [r]] = await Promise.all([
          setup,
          tx`select public.record_paystack_event(${body}::text::jsonb) as r`,
        ]);
        return { status: 200, outcome: r.r.outcome as string };
      })
    ),
    32,
  );
  await db.end();
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
    database: database.result,
    doubleApplied: [...applied.values()].filter((n) => n > 1).length,
    failed: webhook.answers.filter((a) => a.status !== 200).length,
  };
}
