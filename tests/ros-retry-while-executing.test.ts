// admin_retry_slot while slots are executing: a bounded wait, then PT409 (409), instead of
// blocking until PostgREST's statement timeout kills the call. Nothing is paid by the refused call;
// once the executor is done, the same call works.
import assert from "node:assert/strict";
import postgres from "postgres";
import { db, rpcHttp, stack, userJwt } from "./_support/stack.ts";
import { usersWithStakes } from "./_support/users.ts";

Deno.test("a retry during a running executor answers 409 within seconds, and works afterwards", async () => {
  const sql = db();
  const date = "2033-07-01";
  const executor = postgres(stack.db_url, { max: 1, onnotice: () => {} });
  try {
    const { stakeIds } = await usersWithStakes(sql, 3, {
      stake: "100.00",
      createdAt: `${date}T00:00:00+01:00`,
      tag: "retry-lock",
    });
    const [{ id: admin }] = await sql`
      insert into auth.users (email, raw_app_meta_data)
      values ('retry-lock-admin@test.io', '{"role":"admin"}') returning id`;
    const jwt = userJwt(admin, { admin: true, aal: "aal2" });
    const queued = await rpcHttp("admin_queue_distribution", {
      p_distribution_date: date,
      p_slots: [{ slot_number: 1, ros_percentage: 1, scheduled_for: `${date}T10:00:00+01:00` }],
    }, jwt);
    assert.equal(queued.status, 200);
    await sql`select set_config('request.jwt.claims', '{"role":"service_role"}', false)`;
    await sql`select public.execute_due_slots(${`${date}T10:00:00+01:00`})`;

    // Another session is executing slots: it holds the executor lock until released.
    let release = () => {};
    const released = new Promise<void>((r) => release = r);
    let locked = () => {};
    const holding = new Promise<void>((r) => locked = r);
    const held = executor.begin(async (tx) => {
      await tx`select app.lock_ros_executor(true)`;
      locked();
      await released;
    });
    await holding;
    // The executor finishes after 15 s at the latest: a retry that waited for it without a bound
    // would then succeed (200), which is what this test must catch.
    const finish = setTimeout(release, 15_000);

    const refused = await rpcHttp("admin_retry_slot", {
      p_distribution_date: date,
      p_slot_number: 1,
    }, jwt);
    clearTimeout(finish);
    release();
    await held;
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.code, "PT409");
    assert.match(refused.body.message, /executing/);

    const retried = await rpcHttp("admin_retry_slot", {
      p_distribution_date: date,
      p_slot_number: 1,
    }, jwt);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.body.paid_now, 0, "the slot had paid everyone already");
    const [{ n }] = await sql`
      select count(*)::int as n from app.ros_payouts
       where distribution_date = ${date} and stake_id = any(${stakeIds}::uuid[])`;
    assert.equal(n, 3, "each stake paid once");
  } finally {
    await executor.end();
    await sql.end();
  }
});
