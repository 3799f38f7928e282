// The seed scenario end to end through supabase-js and the gateway, as the dashboard and the app
// use it: two 1 % slots at 12:56:00 and 12:58:59 on a 100.00 stake give 2.00.
import assert from "node:assert/strict";
import { client, db, stack, userJwt } from "./_support/stack.ts";

Deno.test("two 1 % slots on a 100.00 stake pay 2.00, through supabase-js", async () => {
  const sql = db();
  try {
    const [{ id: investor }] =
      await sql`insert into auth.users (email) values ('seed-scenario@test.io') returning id`;
    const [{ id: admin }] = await sql`
      insert into auth.users (email, raw_app_meta_data) values ('seed-admin@test.io', '{"role":"admin"}') returning id`;
    const service = client(stack.service_role_key);
    const user = client(userJwt(investor));
    const dashboard = client(userJwt(admin, { admin: true, aal: "aal2" }));

    const funded = await service.rpc("credit_funded_wallet", {
      p_user_id: investor,
      p_amount: 100,
      p_reference: "seed-scenario",
    });
    assert.equal(funded.error, null);
    assert.deepEqual(funded.data, { duplicate: false, balance: "100.00" });
    const stake = await user.rpc("create_stake", { p_amount: 100 });
    assert.equal(stake.error, null);
    assert.equal((stake.data as { status: string }).status, "active");

    const date = "2033-06-15";
    const queued = await dashboard.rpc("admin_queue_distribution", {
      p_distribution_date: date,
      p_slots: [
        { slot_number: 1, ros_percentage: 1, scheduled_for: `${date}T12:56:00+01:00` },
        { slot_number: 2, ros_percentage: 1, scheduled_for: `${date}T12:58:59+01:00` },
      ],
    });
    assert.equal(queued.error, null);
    assert.equal((queued.data as { created: boolean }).created, true);

    const aal1 = client(userJwt(admin, { admin: true, aal: "aal1" }));
    const denied = await aal1.rpc("admin_cancel_slot", {
      p_distribution_date: date,
      p_slot_number: 1,
    });
    assert.equal(denied.error?.code, "42501", "a mutation without MFA is refused");

    const ran = await service.rpc("execute_due_slots", { p_now: `${date}T12:58:59+01:00` });
    assert.equal(ran.error, null);
    assert.equal(ran.data, 2);

    const wallets = await user.from("my_wallets").select("kind, balance");
    assert.equal(wallets.error, null);
    const earnings = wallets.data!.find((w) => w.kind === "earnings");
    assert.equal(String(earnings!.balance), "2", "earnings 2.00");
    const txs = await user.from("my_transactions").select("*").eq("type", "Daily ROS Payout");
    assert.equal(txs.data!.length, 2, "two Daily ROS Payout rows");
    assert.ok(txs.data!.every((t) => t.status === "Completed"));
    const stakes = await user.from("my_stakes").select("total_earned");
    assert.equal(String(stakes.data![0].total_earned), "2", "total earned +2.00");
    const profit = await user.rpc("my_today_profit", { p_date: date });
    assert.equal(String(profit.data), "2", "my_today_profit is 2.00 for the day");

    const status = await aal1.rpc("admin_distribution_status", { p_distribution_date: date });
    const day = status.data as { status: string; slots: { status: string }[] };
    assert.equal(day.status, "COMPLETED");
    assert.deepEqual(day.slots.map((s: { status: string }) => s.status), [
      "COMPLETED",
      "COMPLETED",
    ]);
  } finally {
    await sql.end();
  }
});
