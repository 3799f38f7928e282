// Operator alerts pushed to channels, on the real stack: a local receiver gets, through pg_net
// (the gateway's drainer), exactly one message per new alert (a failed slot, a stalled
// distribution, a stopped cron job), one reminder after the reminder time, one resolution when it
// clears, and none when nothing changed, however often the job runs and with two runs at once. A
// receiver answering 500 gets the message again on the next run, and no more once it answers 200.
// Webhook messages verify with their secret; Slack ones are {"text": …}.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { db, rpcHttp, stack } from "./_support/stack.ts";
import { chargeSuccess, distribute, invest, newInvestor, sendWebhook } from "./_support/tokens.ts";

const sql = db();
const svc = (fn: string, body: unknown) => rpcHttp(fn, body, stack.service_role_key);

type Received = {
  path: string;
  raw: string;
  signature: string | null;
  body: Record<string, unknown>;
};
const received: Received[] = [];
let failing = true;
const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  const raw = await req.text();
  const path = new URL(req.url).pathname;
  received.push({
    path,
    raw,
    signature: req.headers.get("x-payout-signature"),
    body: JSON.parse(raw),
  });
  return new Response("", { status: path === "/flaky" && failing ? 500 : 200 });
});
const base = `http://127.0.0.1:${receiver.addr.port}`;
const tag = crypto.randomUUID().slice(0, 8);
const SECRET = `alert-secret-${crypto.randomUUID()}`;
const channels = { hook: `hook-${tag}`, slack: `slack-${tag}`, flaky: `flaky-${tag}` };

const run = () => sql`select app.deliver_alerts() as r`.then((r) => r[0].r);
/** Runs the job, then waits until pg_net has sent what it queued and recorded the answers. */
async function runAndSettle() {
  const r = await run();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [{ n }] = await sql`select count(*)::int as n from app.alert_deliveries d
      where d.delivered is null and d.channel in ${sql(Object.values(channels))}
        and not exists (select 1 from net._http_response h where h.id = d.net_request_id)`;
    if (n === 0) break;
    if (Date.now() > deadline) throw new Error("pg_net did not send the alerts");
    await new Promise((r) => setTimeout(r, 50));
  }
  return r;
}
const textOf = (m: Received) => String(m.body.text ?? "");
/** An alert by its identity: kind and subject. */
type Id = [kind: string, subject: string];
const about = ([kind, subject]: Id) => (m: Received) =>
  m.path === "/slack"
    ? textOf(m).includes(`${kind.replaceAll("_", " ")} (${subject})`)
    : (m.body.alert as { kind: string; subject: string })?.subject === subject &&
      (m.body.alert as { kind: string }).kind === kind;
const count = (path: string, id: Id, state?: string) =>
  received.filter((m) =>
    m.path === path && about(id)(m) &&
    (state === undefined ||
      (m.path === "/slack" ? textOf(m).startsWith(`[${state}]`) : m.body.state === state))
  ).length;

let slotSubject = "";
const slot = (): Id => ["slot_failed", slotSubject];
const STALL: Id = ["distribution_stalled", "project"];
const CRON: Id = ["cron_job_failing", "job=verify-pending-payments"];
let failedSlot: { date: string; n: number } | null = null;

Deno.test("setup: channels, a failed slot, a stalled distribution, a stopped cron job", async () => {
  for (
    const [name, kind, path, secret] of [
      [channels.hook, "webhook", "/hook", SECRET],
      [channels.slack, "slack", "/slack", null],
      [channels.flaky, "webhook", "/flaky", SECRET],
    ] as const
  ) {
    const r = await svc("admin_set_alert_channel", {
      p_name: name,
      p_kind: kind,
      p_url: `${base}${path}`,
      p_secret: secret,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(
      JSON.stringify(r.body).includes(SECRET),
      false,
      "the answer never holds the secret",
    );
  }
  // A FAILED slot a few days back (the alerts look at the last 7 days).
  const [d] = await sql`
    insert into app.ros_declarations (distribution_date) values (current_date - 5)
    on conflict (distribution_date) do update set updated_at = now() returning id, distribution_date::text as day`;
  const [{ n }] = await sql`select coalesce(max(slot_number), 0) + 1 as n from app.ros_slots
                             where distribution_date = ${d.day}`;
  await sql`insert into app.ros_slots (declaration_id, distribution_date, slot_number, ros_percentage,
              scheduled_for, status, error_message, error_count)
            values (${d.id}, ${d.day}, ${n}, 1, now() - interval '5 days', 'FAILED', 'test failure', 1)`;
  failedSlot = { date: d.day, n };
  slotSubject = `distribution_date=${d.day},slot_number=${n}`;
  // A claimable investment waiting 20 minutes with no claim since (older transfers only).
  const investor = await newInvestor(sql);
  await sql`update app.settings set value = 'off' where key = 'auto_distribute'`;
  const inv = await invest(investor, 1);
  await sendWebhook(chargeSuccess(inv));
  await sql`update app.investments set confirmed_at = now() - interval '20 minutes' where id = ${inv.investment_id}`;
  await sql`update app.token_transfers set created_at = least(created_at, now() - interval '1 hour')`;
  // cron jobs are off on test stacks: each is a stopped job.
});

Deno.test("one message per new alert and channel; none when nothing changed, also with two runs at once", async () => {
  await runAndSettle();
  for (const id of [slot(), STALL, CRON]) {
    for (const path of ["/hook", "/slack"]) {
      assert.equal(count(path, id, path === "/slack" ? "ALERT" : "open"), 1, `${path} ${id}`);
    }
  }
  const kinds = received.filter((m) => m.path === "/hook").map((m) =>
    (m.body.alert as { kind: string }).kind
  );
  for (const k of ["slot_failed", "distribution_stalled", "cron_job_failing"]) {
    assert.ok(kinds.includes(k), k);
  }
  const mine = () =>
    received.filter((m) => m.path !== "/flaky" && [slot(), STALL, CRON].some((id) => about(id)(m)))
      .length;
  const before = mine();
  await Promise.all([run(), run()]);
  await runAndSettle();
  assert.equal(mine(), before, "nothing changed: nothing sent");
});

Deno.test("the webhook message is signed with the channel's secret over the raw body; slack is {text}", () => {
  const hooks = received.filter((m) => m.path === "/hook");
  assert.ok(hooks.length > 0);
  for (const m of hooks) {
    assert.equal(m.signature, createHmac("sha256", SECRET).update(m.raw).digest("hex"));
    assert.deepEqual(Object.keys(m.body).sort(), ["alert", "state", "text"]);
    assert.ok((m.body.alert as Record<string, unknown>).id);
    assert.ok(
      String((m.body.alert as Record<string, unknown>).action).length > 0,
      "names its way out",
    );
  }
  const slack = received.filter((m) => m.path === "/slack");
  for (const m of slack) {
    assert.deepEqual(Object.keys(m.body), ["text"]);
    assert.equal(m.signature, null);
    assert.match(textOf(m), /To resolve: /);
  }
});

Deno.test("a receiver that answers 500 gets the message again on the next run, and no more once it answers 200", async () => {
  const sent = count("/flaky", slot(), "open");
  assert.ok(sent >= 1, "sent by the first run");
  await runAndSettle();
  assert.equal(
    count("/flaky", slot(), "open"),
    sent + 1,
    "answered 500: sent again by the next run",
  );
  failing = false;
  await runAndSettle();
  assert.equal(count("/flaky", slot(), "open"), sent + 2, "sent again, and now accepted");
  await runAndSettle();
  await runAndSettle();
  assert.equal(count("/flaky", slot(), "open"), sent + 2, "accepted: no more");
});

Deno.test("a reminder after the reminder time, none for an acknowledged alert", async () => {
  const [slotAlert] = await sql`select id from app.alerts
                                 where resolved_at is null and kind = 'slot_failed' and subject = ${slotSubject}`;
  const [stallAlert] = await sql`select id from app.alerts
                                  where resolved_at is null and kind = 'distribution_stalled'`;
  const ack = await svc("admin_acknowledge_alert", {
    p_alert_id: stallAlert.id,
    p_note: "looking at it",
  });
  assert.equal(ack.status, 200, JSON.stringify(ack.body));
  await sql`update app.settings set value = '1 second' where key = 'alert_reminder_after'`;
  try {
    await new Promise((r) => setTimeout(r, 1_200));
    await runAndSettle();
    assert.equal(count("/hook", slot(), "reminder"), 1);
    assert.equal(count("/slack", slot(), "STILL OPEN"), 1);
    assert.equal(count("/hook", STALL, "reminder"), 0, "acknowledged: no reminder");
    await runAndSettle();
    assert.equal(count("/hook", slot(), "reminder"), 1, "not again before the reminder time");
  } finally {
    await sql`update app.settings set value = '4 hours' where key = 'alert_reminder_after'`;
  }
  const log = await svc("admin_alert_log", { p_limit: 1000 });
  const entry = (log.body as Record<string, unknown>[]).find((a) =>
    Number(a.id) === Number(slotAlert.id)
  );
  assert.ok(entry?.notified_at, "the log shows when it was sent");
  assert.equal(
    (log.body as Record<string, unknown>[]).find((a) => Number(a.id) === Number(stallAlert.id))
      ?.state,
    "acknowledged",
  );
});

Deno.test("one resolution when each clears; a cron job stopped again is a new alert", async () => {
  await sql`update app.ros_slots set status = 'CANCELLED'
             where distribution_date = ${failedSlot!.date} and slot_number = ${failedSlot!.n}`;
  await distribute({}); // claims the waiting investment: the distribution is no longer stalled
  await sql`update cron.job set active = true where jobname = 'verify-pending-payments'`;
  try {
    await runAndSettle();
    assert.equal(count("/hook", slot(), "resolved"), 1);
    assert.equal(count("/slack", slot(), "RESOLVED"), 1);
    assert.equal(
      count("/hook", STALL, "resolved"),
      1,
      "the stall's resolution, acknowledged or not",
    );
    assert.equal(count("/hook", CRON, "resolved"), 1);
    await runAndSettle();
    assert.equal(count("/hook", slot(), "resolved"), 1, "resolved once");
  } finally {
    await sql`update cron.job set active = false where jobname = 'verify-pending-payments'`;
  }
  await runAndSettle();
  assert.equal(count("/hook", CRON, "open"), 2, "stopped again: a new alert");
});

Deno.test("teardown: channels off, nothing sent to them any more", async () => {
  for (const name of Object.values(channels)) {
    const r = await svc("admin_set_alert_channel", {
      p_name: name,
      p_kind: name.startsWith("slack") ? "slack" : "webhook",
      p_url: `${base}/off`,
      p_enabled: false,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const before = received.length;
  await runAndSettle();
  assert.equal(received.length, before);
  await receiver.shutdown();
  await sql.end();
});
