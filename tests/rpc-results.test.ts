// Every RPC the console reads, called as the console calls it (console/src/api.ts `call`, supabase-js
// as an admin at aal2) on the real stack with books that make each answer non-empty, parsed with
// its schema in rpc-results.ts refusing unknown keys: a key the SQL renames, drops or adds without
// its schema fails here. (The functions' RPCs are parsed the same way on every call of the other
// tests: the test stack runs them with RPC_RESULTS_STRICT=1.)
import assert from "node:assert/strict";
import { call } from "../console/src/api.ts";
import { seedEveryAlert } from "./_support/every-alert.ts";
import { chargeSuccess } from "./_support/paystack-events.ts";
import { client, db, userJwt } from "./_support/stack.ts";

Deno.test("the console's RPCs answer exactly the shapes their schemas define", async () => {
  const strict = Deno.env.get("RPC_RESULTS_STRICT");
  Deno.env.set("RPC_RESULTS_STRICT", "1");
  const sql = db();
  const seeded = await seedEveryAlert(sql, 3);
  const admin = client(userJwt(crypto.randomUUID(), { admin: true, aal: "aal2" }));
  // A day of its own, far in the past: its slots are due for no other test.
  const day = `19${70 + Math.floor(Math.random() * 29)}-0${1 + Math.floor(Math.random() * 9)}-1${
    Math.floor(Math.random() * 9)
  }`;
  const channel = `shape-test-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const queued = await call(admin, "admin_queue_distribution", {
      p_distribution_date: day,
      p_slots: [
        { slot_number: 1, ros_percentage: "0.1", scheduled_for: `${day}T10:00:00+01:00` },
        { slot_number: 2, ros_percentage: "0.2", scheduled_for: `${day}T11:00:00+01:00` },
      ],
    });
    assert.equal(queued.slots.length, 2);
    // Slot 1 paid (nobody's stake is that old: COMPLETED with 0), slot 2 left overdue.
    await sql`select public.execute_due_slots(${`${day}T10:30:00+01:00`}::timestamptz)`;
    const retried = await call(admin, "admin_retry_slot", {
      p_distribution_date: day,
      p_slot_number: 1,
    });
    assert.equal(retried.paid_now, 0);
    const status = await call(admin, "admin_distribution_status", { p_distribution_date: day });
    assert.deepEqual(status.slots.map((s) => s.status), ["COMPLETED", "PENDING"]);
    const history = await call(admin, "admin_distribution_history", { p_from: day, p_to: day });
    assert.equal(history.length, 1);
    const rosAlerts = await call(admin, "admin_ros_alerts", { p_distribution_date: day });
    assert.ok(rosAlerts.some((a) => a.kind === "overdue_slot" && a.slot_number === 2));

    const tokenAlerts = await call(admin, "admin_token_alerts", {});
    assert.ok(tokenAlerts.length >= 20, "every kind of token alert is there");
    const policy = await call(admin, "admin_set_chain_policy", {
      p_chain_id: seeded.chainId,
      p_min_confirmations: 2,
    });
    assert.equal(policy.min_confirmations, 2);
    const tokenizations = await call(admin, "admin_tokenizations", {});
    assert.ok(tokenizations.some((t) => t.tokenization_id === seeded.reportTokenization));
    const page = await call(admin, "admin_distribution_report_page", {
      p_tokenization_id: seeded.reportTokenization,
      p_limit: 2,
    });
    assert.equal(page.rows.length, 2);
    assert.ok(page.next_after, "a second page");
    const people = await call(admin, "admin_investors", { p_user_ids: [seeded.named.id] });
    assert.equal(people[0].name, seeded.named.name);

    // A charge for a reference nobody made: stored, with its outcome.
    const charge = chargeSuccess({ reference: `none-${channel}`, amount: 1000 });
    const body = JSON.stringify(charge);
    const [event] = await sql`
      select (public.record_paystack_event(${body}::text::jsonb, null) ->> 'event_id')::bigint as id`;
    const stored = await call(admin, "admin_paystack_event", { p_event_id: Number(event.id) });
    assert.equal(stored.outcome, "unknown_reference");

    await sql`select app.refresh_alerts()`;
    const log = await call(admin, "admin_alert_log", { p_limit: 50 });
    assert.ok(log.length > 0);
    await call(admin, "admin_set_alert_channel", {
      p_name: channel,
      p_kind: "webhook",
      p_url: "https://alerts.example.com/hook",
      p_secret: "shape-test-secret",
      p_enabled: false,
    });
    const channels = await call(admin, "admin_alert_channels", {});
    assert.ok(channels.some((c) => c.name === channel && c.url_host === "alerts.example.com"));
    const audit = await call(admin, "admin_audit_log", { p_limit: 20 });
    assert.ok(audit.some((e) => e.action === "retry_slot"));
    const overview = await call(admin, "admin_overview", {});
    assert.equal(overview.daily.length, 30);
  } finally {
    if (strict === undefined) Deno.env.delete("RPC_RESULTS_STRICT");
    await sql`update app.ros_slots set status = 'CANCELLED'
               where distribution_date = ${day}::date and status = 'PENDING'`;
    await sql`delete from app.alert_channels where name = ${channel}`;
    await sql`delete from app.chain_policies where chain_id = ${seeded.chainId}`;
    await seeded.cleanup();
    await sql`select app.refresh_alerts()`;
    await sql.end();
  }
});
