// The reconciler's audit over successive calls (CONTRACT "Platform limits"): each call audits
// pages of holders from the stored cursor and records how far it got; a pass over every holder
// completes over several calls with its progress in each answer; a wallet changed off the books
// is flagged by the call whose page holds it, and the flag stands through calls that audit other
// pages until a call audits that holder again.
import assert from "node:assert/strict";
import { db, rpcHttp, userJwt } from "./_support/stack.ts";
import {
  chargeSuccess,
  distribute,
  invest,
  newInvestor,
  offBookTransfer,
  reconcile,
  sendWebhook,
} from "./_support/tokens.ts";

const sql = db();
const PAGE = 25;
type Audit = { holders_audited: number; pass_complete: boolean; pages: number };

/** Reconciler calls of one page each until a pass completes; what each call audited. */
async function onePass(): Promise<{ audits: Audit[]; discrepancies: Record<string, unknown>[][] }> {
  const audits: Audit[] = [];
  const discrepancies: Record<string, unknown>[][] = [];
  for (let i = 0; i < 1000; i++) {
    const r = await reconcile({ audit_page_limit: PAGE, audit_max_pages: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    audits.push(r.body.audit);
    discrepancies.push(r.body.discrepancies);
    if (r.body.audit.pass_complete) return { audits, discrepancies };
  }
  throw new Error("no pass completed in 1,000 calls");
}

Deno.test("a pass over every holder completes over calls of one page each, its progress in each answer", async () => {
  // Enough holders for several pages.
  for (let i = 0; i < 2 * PAGE; i++) {
    const investor = await newInvestor(sql);
    const inv = await invest(investor, 1);
    await sendWebhook(chargeSuccess(inv));
  }
  await distribute({ limit: 1000 });
  await onePass(); // wherever an earlier run left the cursor, finish that pass
  const [{ n }] = await sql`select count(*)::int as n from app.token_holdings`;
  const { audits } = await onePass();
  assert.ok(audits.length >= Math.ceil(n / PAGE), `${audits.length} calls for ${n} holders`);
  assert.ok(audits.every((a) => a.pages === 1 && a.holders_audited <= PAGE));
  assert.equal(audits.reduce((s, a) => s + a.holders_audited, 0), n, "every holder once");
  assert.ok(audits.slice(0, -1).every((a) => !a.pass_complete), "complete only at the end");
  const [cursor] = await sql`select after_user_id, last_pass_holders from app.token_audit_cursor`;
  assert.equal(cursor.after_user_id, null, "the next call starts the next pass");
  assert.equal(Number(cursor.last_pass_holders), n);
});

Deno.test("an off-book wallet is flagged by the page that holds it and stays flagged until audited again", async () => {
  const investor = await newInvestor(sql);
  const inv = await invest(investor, 2);
  await sendWebhook(chargeSuccess(inv));
  await distribute({ user_id: investor.id });
  await onePass();
  assert.equal(await offBookTransfer(investor.wallet!, 3n), "0x1");
  const { discrepancies } = await onePass();
  const flagged = discrepancies.findIndex((ds) =>
    ds.some((d) => d.user_id === investor.id && d.kind === "chain_vs_holdings")
  );
  assert.ok(flagged >= 0, "the call whose page held the investor flagged the wallet");
  assert.equal(
    discrepancies.filter((ds) => ds.some((d) => d.user_id === investor.id)).length,
    1,
    "only that call audited it",
  );
  // The calls after it audited other holders; the flag stands on the console's alerts.
  const admin =
    (await sql`select id from auth.users where raw_app_meta_data ->> 'role' = 'admin' limit 1`)[0];
  const alerts = await rpcHttp("admin_token_alerts", {}, userJwt(admin.id, { admin: true }));
  assert.equal(alerts.status, 200, JSON.stringify(alerts.body));
  assert.ok(
    alerts.body.some((a: { kind: string; user_id?: string }) =>
      a.kind === "discrepancy" && a.user_id === investor.id
    ),
    "the discrepancy stands after later calls that did not audit the investor",
  );
});

Deno.test("close", async () => {
  await sql.end();
});
