// The books holding one token alert of every kind admin_token_alerts knows, and a tokenization of
// `holders` investors for the distribution report (three of them with holdings that differ from
// what was distributed), on a chain id no other test uses. Set up directly in the tables (the
// conditions are what the pipeline would have recorded); `cleanup` removes every row it made, so
// the tests after it see the books as they were.
import type postgres from "postgres";

export const EVERY_ALERT_KINDS = [
  "amount_mismatch",
  "audit_unavailable",
  "discrepancy",
  "dispute_after_distribution",
  "failed_transfer",
  "fee_cap_exceeded",
  "investment_failed",
  "partial_refund",
  "payment_unverified",
  "paystack_event_unprocessable",
  "refund_after_distribution",
  "refund_needs_attention",
  "reorg_detected",
  "stuck_transfer",
  "token_unreadable",
  "treasury_insufficient_gas",
  "treasury_insufficient_tokens",
  "waiting_on_kyc",
  "waiting_on_wallet",
  "webhook_silent",
] as const;

export type EveryAlert = {
  chainId: number;
  reportTokenization: string;
  reportProperty: string;
  /** The investor every investment alert names, with a name in their user metadata. */
  named: { id: string; email: string; name: string };
  cleanup: () => Promise<void>;
};

export async function seedEveryAlert(sql: postgres.Sql, holders: number): Promise<EveryAlert> {
  const tag = crypto.randomUUID().slice(0, 8);
  const chainId = 424_200 + Math.floor(Math.random() * 99);
  const named = { email: `ada-${tag}@test.io`, name: `Ada Obi ${tag}` };
  const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
  const address = (n: number) => `0x${hex(n, 40)}`;
  const signer = `0x${"ab".repeat(20)}`;
  // Every setting has its row (app.setting refuses a missing one): it is changed and put back.
  const [previousSilence] = await sql`select value from app.settings
                                       where key = 'paystack_silence_alert_after'`;

  const ids = await sql.begin(async (tx) => {
    const [report] = await tx`
      insert into app.tokenizations (property_id, token_address, chain_id, price_per_token)
      values (${`REPORT-${tag}`}, ${address(0xa1)}, ${chainId}, 10) returning id`;
    const [alerts] = await tx`
      insert into app.tokenizations (property_id, token_address, chain_id, price_per_token,
                                     unreadable_since, unreadable_error)
      values (${`ALERTS-${tag}`}, ${address(0xa2)}, ${chainId}, 10, now() - interval '3 hours',
              'no contract code at the token address') returning id`;
    const [user] = await tx`
      insert into auth.users (email, raw_user_meta_data)
      values (${named.email}, jsonb_build_object('full_name', ${named.name}::text)) returning id`;
    // The report's investors: each distributed 10 tokens by a confirmed transfer; three hold 9.
    await tx`
      with u as (
        insert into auth.users (email)
        select ${`holder-${tag}-`} || g || '@test.io' from generate_series(1, ${holders}) g
        returning id
      ), n as (select id, row_number() over (order by id) as g, gen_random_uuid() as tid from u),
      t as (
        insert into app.token_transfers (id, tokenization_id, user_id, to_address, token_address,
          chain_id, signer, nonce, amount, gas_limit, max_fee_per_gas, max_priority_fee_per_gas,
          status, tx_hash, raw_tx, block_number, confirmed_at)
        select tid, ${report.id}, id, '0x' || lpad(to_hex(g::int), 40, '0'), ${address(0xa1)},
               ${chainId}, ${signer}, g, 10, 60000, 1, 1, 'confirmed',
               '0x' || lpad(to_hex(g::int), 64, '0'), '0x02', g, now() - interval '1 day'
          from n returning id
      ), i as (
        insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit,
          currency, reference, payment_status, transfer_id)
        select id, ${report.id}, 10, 100, 10000, 'NGN', ${`R-${tag}-`} || g, 'tokens_distributed', tid
          from n returning 1
      )
      insert into app.token_holdings (user_id, tokenization_id, balance)
      select id, ${report.id}, case when g <= 3 then 9 else 10 end from n`;

    // Transfers: one stuck in broadcast, one failed, two confirmed under reversed investments.
    const transfer = async (nonce: number, status: string, error: string | null, age: string) => {
      const [t] = await tx`
        insert into app.token_transfers (tokenization_id, user_id, to_address, token_address,
          chain_id, signer, nonce, amount, gas_limit, max_fee_per_gas, max_priority_fee_per_gas,
          status, tx_hash, raw_tx, block_number, confirmed_at, error, updated_at)
        values (${alerts.id}, ${user.id}, ${address(0xb0)}, ${address(0xa2)}, ${chainId}, ${signer},
                ${1_000_000 + nonce}, 25, 60000, 1, 1, ${status},
                ${`0x${hex(0xc0 + nonce, 64)}`}, '0x02',
                ${status === "confirmed" ? 7 : null},
                ${status === "confirmed" ? sql`now()` : null}, ${error},
                now() - ${age}::interval)
        returning id`;
      return t.id as string;
    };
    await transfer(1, "broadcast", null, "1 hour");
    await transfer(2, "failed", "execution reverted", "2 hours");
    const refunded = await transfer(3, "confirmed", null, "1 day");
    const disputed = await transfer(4, "confirmed", null, "1 day");

    const investment = async (status: string, extra: Record<string, unknown> = {}) => {
      const [i] = await tx`
        insert into app.investments ${
        tx({
          user_id: user.id,
          tokenization_id: alerts.id,
          tokens: 25,
          amount: 250,
          amount_subunit: 25000,
          currency: "NGN",
          reference: `A-${tag}-${crypto.randomUUID().slice(0, 8)}`,
          payment_status: status,
          ...extra,
        })
      } returning id`;
      return i.id as string;
    };
    await investment("amount_mismatch");
    const failed = await investment("failed");
    await tx`insert into app.investment_events (investment_id, status, detail)
             values (${failed}, 'failed', 'three transfers failed')`;
    await investment("confirmed", { refund_hold: "partial", refund_hold_since: new Date() });
    await investment("confirmed", {
      refund_hold: "needs_attention",
      refund_hold_since: new Date(),
    });
    await investment("tokens_distributed", {
      transfer_id: refunded,
      reversal: "refund",
      reversal_at: new Date(),
    });
    await investment("tokens_distributed", {
      transfer_id: disputed,
      reversal: "dispute",
      reversal_at: new Date(),
    });
    await investment("pending", { created_at: new Date(Date.now() - 2 * 86_400_000) });
    // Paid and waiting: the named investor for KYC; a verified one without a wallet.
    await investment("confirmed");
    const [noWallet] = await tx`insert into auth.users (email) values (${`nowallet-${tag}@test.io`})
                                returning id`;
    await tx`update app.profiles set kyc_status = 'verified' where user_id = ${noWallet.id}`;
    await investment("confirmed", { user_id: noWallet.id });

    // The latest reconciliation run found a discrepancy, an unreadable audit and a reorg.
    const [run] =
      await tx`insert into app.reconciliation_runs (summary) values ('{}') returning id`;
    await tx`
      insert into app.token_discrepancies (run_id, kind, user_id, tokenization_id, detail)
      values (${run.id}, 'balance_mismatch', ${user.id}, ${alerts.id}, '{"chain":"20","books":"25"}'),
             (${run.id}, 'audit_unavailable', null, ${alerts.id}, '{"error":"timeout"}'),
             (${run.id}, 'reorg_detected', ${user.id}, ${alerts.id}, '{"tx_hash":"0x1"}')`;

    // The chain: fees above the cap; the treasury short of tokens and of gas.
    await tx`insert into app.chain_fee_state (chain_id, base_fee_per_gas, priority_fee_per_gas,
                                              cap_exceeded_since)
             values (${chainId}, 900000000000, 2000000000, now() - interval '20 minutes')`;
    await tx`insert into app.treasury_state (chain_id, signer, tokens_short_since, gas_short_since)
             values (${chainId}, ${signer}, now() - interval '5 minutes', now() - interval '5 minutes')`;

    // A signed event that could not be applied, a day ago; the webhook silent since (the silence
    // threshold lowered so that the last event of any earlier test is past it).
    const [event] = await tx`
      insert into app.paystack_events (event_type, event_id, reference, payload, outcome, reason,
                                       received_at)
      values ('charge.success', ${`every-alert-${tag}`}, ${`NOPE-${tag}`}, '{}', 'unprocessable',
              'amount is not a whole number of kobo', now() - interval '1 day')
      returning id`;
    await tx`update app.settings set value = '1 second' where key = 'paystack_silence_alert_after'`;
    return {
      report: report.id as string,
      alerts: alerts.id as string,
      user: user.id as string,
      noWallet: noWallet.id as string,
      run: run.id as string,
      event: event.id as string,
    };
  });

  return {
    chainId,
    reportTokenization: ids.report,
    reportProperty: `REPORT-${tag}`,
    named: { id: ids.user, ...named },
    cleanup: async () => {
      await sql.begin(async (tx) => {
        const toks = [ids.report, ids.alerts];
        await tx`delete from app.investment_events where investment_id in
                   (select id from app.investments where tokenization_id = any (${toks}::uuid[]))`;
        await tx`delete from app.investments where tokenization_id = any (${toks}::uuid[])`;
        await tx`delete from app.token_holdings where tokenization_id = any (${toks}::uuid[])`;
        await tx`delete from app.token_transfers where tokenization_id = any (${toks}::uuid[])`;
        await tx`delete from app.token_discrepancies where run_id = ${ids.run}`;
        await tx`delete from app.reconciliation_runs where id = ${ids.run}`;
        await tx`delete from app.chain_fee_state where chain_id = ${chainId}`;
        await tx`delete from app.treasury_state where chain_id = ${chainId}`;
        await tx`delete from app.paystack_events where id = ${ids.event}`;
        await tx`delete from app.tokenizations where id = any (${toks}::uuid[])`;
        await tx`update app.settings set value = ${previousSilence.value}
                  where key = 'paystack_silence_alert_after'`;
      });
    },
  };
}
