// The Paystack webhook under load: signed charge.success and refund events over loopback through
// the gateway to the real function and database, each delivered 3 times (Paystack retries), from
// 32 concurrent senders. Beside it, in the same run and at the same concurrency: the same gateway
// answering `health` (what HTTP, JWT-less routing and one database round trip cost by themselves),
// and the same events recorded by record_paystack_event straight from 32 database connections,
// each call in its own transaction sent as one message, as the gateway sends it (what the database
// alone costs: no HTTP, no function). Each of the three first runs a warm-up (a tenth as many events of its own, not
// measured, reported apart): the measurement is of a running service, not of its start (the
// function's module loading, the pools' first connections, the JIT).
import postgres from "postgres";
import type { StackInfo } from "../local/stack.ts";
import { literal } from "../local/gateway/transaction.ts";
import { paystackSignature } from "../supabase/functions/_shared/paystack-signature.ts";
import { chargeSuccess, refundEvent } from "../tests/_support/paystack-events.ts";

/**
 * The goal: at least 500 events a second with p99 under 50 ms. Deliveries come at this rate
 * (as Paystack sends them, whatever the service is doing), from the same 32 senders.
 */
export const PACED_PER_SECOND = 500;

export type LoadResult = { requests: number; perSecond: number; p50: number; p99: number };
export type WebhookResult = {
  events: number;
  /** The webhook's warm-up: a service just started (not part of the measurement). */
  warmup: LoadResult;
  webhook: LoadResult;
  health: LoadResult;
  database: LoadResult;
  /** The webhook at PACED_PER_SECOND deliveries a second (another set of events). */
  paced: LoadResult;
  /** Distinct events applied more than once (must be 0). */
  doubleApplied: number;
  /** Deliveries (warm-up included) answered with anything but 200 (must be 0). */
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

/**
 * Sends every request from `concurrency` workers; returns the latencies and the answers. Without
 * a rate, each worker sends its next request as soon as it has an answer (the most the service
 * can take: latency then is mostly waiting in line, concurrency / throughput). With one, request i
 * is due at i / rate seconds, as deliveries arrive whatever the service does, and its latency
 * counts from when it was due: a request that had to wait for a free worker is not flattered.
 */
async function load(
  requests: (() => Promise<Answer>)[],
  concurrency: number,
  perSecond?: number,
) {
  const latencies: number[] = [];
  const answers: { status: number; outcome?: string; index: number }[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const index = next++;
      let t0 = performance.now();
      if (perSecond) {
        const due = started + (index * 1000) / perSecond;
        if (due > t0) await new Promise((r) => setTimeout(r, due - t0));
        t0 = due;
      }
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
  const eventsFor = async (n: number) => {
    const refs = await sql<{ reference: string }[]>`
      insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference)
      select ${user}, ${stack.tokenization_id}, 1, 10, 1000, 'NGN', 'WH-' || gen_random_uuid()
        from generate_series(1, ${n})
      returning reference`;
    const events: string[] = [];
    refs.forEach(({ reference }, i) => {
      // Paystack's published shapes (tests/fixtures/paystack): a full charge, a refund without id.
      events.push(JSON.stringify(chargeSuccess({ reference, amount: 1000 })));
      if (i % 2 === 0) {
        events.push(JSON.stringify(refundEvent("processed", { reference, amount: 1000 })));
      }
    });
    return events;
  };
  const warmupN = Math.max(1, Math.ceil(investments / 10));
  const events = await eventsFor(investments);
  const url = `${stack.api_url}/functions/v1/paystack-webhook`;
  // Each event three times, retries mixed with other events, as they would come from Paystack.
  const deliveriesOf = (events: string[]) =>
    shuffled(events.flatMap((body, event) =>
      [0, 1, 2].map(() => ({
        body,
        event,
        sig: paystackSignature(new TextEncoder().encode(body), stack.paystack_secret_key),
      }))
    ));
  const post = (d: { body: string; sig: string }) => () =>
    answerOf(fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-paystack-signature": d.sig },
      body: d.body,
    }));
  const warmup = await load(deliveriesOf(await eventsFor(warmupN)).map(post), 32);
  const deliveries = deliveriesOf(events);
  const webhook = await load(deliveries.map(post), 32);
  const pacedDeliveries = deliveriesOf(await eventsFor(investments));
  const paced = await load(pacedDeliveries.map(post), 32, PACED_PER_SECOND);
  const health = () => answerOf(fetch(`${stack.api_url}/rest/v1/rpc/health`, { method: "POST" }));
  await load(Array(warmupN * 3).fill(health), 32);
  const healthLoad = await load(Array(deliveries.length).fill(health), 32);
  const db = postgres(stack.db_url, { max: 32, onnotice: () => {} });
  // One message per call, as the gateway sends it (local/gateway/transaction.ts).
  const setup = `set transaction read write;
select set_config('role', 'service_role', true),
       set_config('request.jwt.claims', '{"role":"service_role"}', true);`;
  const record = (body: string) => async () => {
    const results = await db.unsafe(
      `${setup}\nselect public.record_paystack_event(${literal(body)}::text::jsonb) as r`,
    ).simple() as unknown as { r: { outcome: string } }[][];
    return { status: 200, outcome: results[2][0].r.outcome };
  };
  const threeTimes = async (n: number) =>
    shuffled((await eventsFor(n)).flatMap((body) => [body, body, body]));
  await load((await threeTimes(warmupN)).map(record), 32);
  const database = await load((await threeTimes(investments)).map(record), 32);
  await db.end();
  /** Events of one run applied (answered other than `duplicate`) more than once. */
  const twice = (
    answers: { status: number; outcome?: string; index: number }[],
    of: { event: number }[],
  ) => {
    const applied = new Map<number, number>();
    for (const a of answers) {
      if (a.status === 200 && a.outcome !== "duplicate") {
        const e = of[a.index].event;
        applied.set(e, (applied.get(e) ?? 0) + 1);
      }
    }
    return [...applied.values()].filter((n) => n > 1).length;
  };
  await sql`update app.settings set value = 'on' where key = 'auto_distribute'`;
  return {
    events: events.length,
    warmup: warmup.result,
    webhook: webhook.result,
    health: healthLoad.result,
    database: database.result,
    paced: paced.result,
    doubleApplied: twice(webhook.answers, deliveries) + twice(paced.answers, pacedDeliveries),
    failed: [...warmup.answers, ...webhook.answers, ...paced.answers]
      .filter((a) => a.status !== 200).length,
  };
}
