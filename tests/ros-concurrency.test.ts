// Several connections run execute_due_slots at the same moment over thousands of stakes: every
// stake is paid exactly once per slot, and no slot runs twice (F7 for ROS).
import assert from "node:assert/strict";
import postgres from "postgres";
import { db, stack } from "./_support/stack.ts";
import { usersWithStakes } from "./_support/users.ts";

Deno.test("concurrent executors pay each stake once per slot", async () => {
  const sql = db();
  const date = "2033-05-01";
  try {
    const { stakeIds } = await usersWithStakes(sql, 3000, {
      stake: "100.00",
      createdAt: `${date}T00:00:00+01:00`,
      tag: "conc",
    });
    await sql`select set_config('request.jwt.claims', '{"role":"service_role"}', false)`;
    await sql`select public.admin_queue_distribution(${date}, ${
      sql.json([1, 2, 3].map((n) => ({
        slot_number: n,
        ros_percentage: 0.5,
        scheduled_for: `${date}T1${n}:00:00+01:00`,
      })))
    })`;
    // execute_due_slots runs every due slot, this test's three and any other day's still pending
    // (a seeded dev stack has some): each must run exactly once across all callers.
    const due = `${date}T23:00:00+01:00`;
    const [{ pending }] = await sql`select count(*)::int as pending from app.ros_slots
                                     where status = 'PENDING' and scheduled_for <= ${due}`;
    // Six independent connections, released together.
    const conns = Array.from(
      { length: 6 },
      () => postgres(stack.db_url, { max: 1, onnotice: () => {} }),
    );
    const ran = await Promise.all(conns.map(async (c) => {
      await c`set role service_role`;
      await c`select set_config('request.jwt.claims', '{"role":"service_role"}', false)`;
      let total = 0;
      for (let i = 0; i < 3; i++) {
        const [{ n }] = await c`select public.execute_due_slots(${due}) as n`;
        total += n;
      }
      await c.end();
      return total;
    }));
    assert.ok(pending >= 3);
    assert.equal(
      ran.reduce((a, b) => a + b, 0),
      pending,
      "each due slot ran exactly once across all callers",
    );
    const [counts] = await sql`
      select count(*)::int as payouts, count(distinct (stake_id, slot_number))::int as distinct_pairs,
             count(distinct stake_id)::int as stakes
        from app.ros_payouts where distribution_date = ${date} and stake_id = any(${stakeIds}::uuid[])`;
    assert.equal(counts.payouts, 9000, "3 slots x 3000 stakes");
    assert.equal(counts.distinct_pairs, 9000, "no duplicate (stake, slot)");
    const [slots] = await sql`
      select count(*) filter (where status = 'COMPLETED')::int as completed
        from app.ros_slots where distribution_date = ${date}`;
    assert.equal(slots.completed, 3);
    const [earned] = await sql`
      select count(*)::int as n from app.stakes where id = any(${stakeIds}::uuid[]) and total_earned <> 1.50`;
    assert.equal(earned.n, 0, "every stake earned 3 x 0.50");
    const violations = await sql`select * from app.ledger_violations()`;
    assert.deepEqual([...violations], [], "the ledger balances");
  } finally {
    await sql.end();
  }
});
