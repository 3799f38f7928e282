// Measurement helpers shared by the Postgres benchmarks.
import type postgres from "postgres";

/** Milliseconds one statement (or script) takes. */
export async function timed(sql: postgres.Sql, text: string): Promise<number> {
  const t = performance.now();
  await sql.unsafe(text);
  return performance.now() - t;
}

const SETTLED = [
  "auth.users",
  "app.profiles",
  "app.accounts",
  "app.stakes",
  "app.ros_slots",
  "app.ros_payouts",
  "app.ledger_transactions",
  "app.ledger_entries",
];

/**
 * Vacuum and analyze everything a slot touches, then checkpoint: autovacuum has nothing left to
 * start in the middle of a measurement, and every timed statement pays the same full-page writes.
 */
export async function settle(sql: postgres.Sql) {
  for (const t of SETTLED) await sql.unsafe(`vacuum (analyze) ${t}`);
  await sql.unsafe("checkpoint");
}
