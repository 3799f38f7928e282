// Executes one chaos schedule against the stack, recovers, and returns the invariant violations.
import postgres from "postgres";
import type { Reversal, Step } from "./schedule.ts";
import { setChainFault } from "../../local/stack/chain-proxy.ts";
import { restartCluster } from "../../local/stack/postgres.ts";
import { db, rpcHttp, stack } from "../_support/stack.ts";
import {
  chain,
  chargeSuccess,
  dispute,
  distribute,
  invest,
  type Investment,
  type Investor,
  newInvestor,
  reconcile,
  refund,
  sendWebhook,
  setKyc,
  setWallet,
  tokenInvariants,
} from "../_support/tokens.ts";

const svc = (fn: string, body: unknown) => rpcHttp(fn, body, stack.service_role_key);

let reversalId = 0;
/** The Paystack events of one reversal, in Paystack's published shapes (tests/fixtures/paystack). */
function reversalEvents(inv: Investment, kind: Reversal, seed: number): string[] {
  const id = seed * 1_000_000 + ++reversalId; // a dispute's id: the same for its create and resolve
  switch (kind) {
    case "refund":
      return [refund(inv, "pending"), refund(inv, "processed")];
    case "partial_refund":
      // Half the money back: the investment is held, never paid the full tokens.
      return [refund(inv, "pending"), refund(inv, "processed", Math.floor(inv.amount_subunit / 2))];
    case "refund_needs_attention":
      return [refund(inv, "needs-attention")];
    case "refund_started":
      return [refund(inv, "pending")];
    case "dispute_open":
      return [dispute(inv, "create", id)];
    case "dispute_won":
      return [dispute(inv, "create", id), dispute(inv, "resolve", id, "declined")];
    case "dispute_lost":
      return [dispute(inv, "create", id), dispute(inv, "resolve", id, "merchant-accepted")];
  }
}

export async function runSchedule(
  seed: number,
  steps: Step[],
  stackDir: string,
): Promise<string[]> {
  const sql = db(4);
  const investors: Investor[] = [];
  const investments: { inv: Investment; who: number }[] = [];
  // Each seed its own business day; CHAOS_DAY_OFFSET moves a replay to days no run has used.
  const day = seed + Number(Deno.env.get("CHAOS_DAY_OFFSET") ?? 0);
  const date = new Date(Date.UTC(2050, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
  const at = (minute: number) =>
    new Date(Date.parse(`${date}T00:00:00+01:00`) + minute * 60_000).toISOString();
  const seedUsers = () => investors.map((i) => i.id);
  // Finality at depth 3, so that the reorgs (depth 1-2) only ever take away what was not final.
  const policy = await svc("admin_set_chain_policy", { p_chain_id: stack.chain_id });
  await svc("admin_set_chain_policy", { p_chain_id: stack.chain_id, p_min_confirmations: 3 });
  // What earlier tests (or seeds) made final at a shallower depth is buried 3 deep first, so this
  // schedule's reorgs (depth 1-2) can only take away its own, not-yet-final blocks.
  await chain.call("anvil_mine", ["0x3"]);
  try {
    await sql`update app.settings set value = 'off' where key = 'auto_distribute'`;
    for (const s of steps) {
      switch (s.op) {
        case "investor":
          investors.push(await newInvestor(sql, { verified: s.verified, wallet: s.wallet }));
          break;
        case "invest":
          investments.push({ inv: await invest(investors[s.who], s.tokens), who: s.who });
          break;
        case "webhook": {
          const { inv } = investments[s.inv];
          const body = chargeSuccess(inv, s.underpay ? { amount: inv.amount_subunit - 100 } : {});
          if (s.netDrop) await dropNetRequests(true);
          try {
            await Promise.all(Array.from({ length: s.copies }, () => sendWebhook(body)));
          } finally {
            if (s.netDrop) await dropNetRequests(false);
          }
          break;
        }
        case "reversal": {
          const { inv } = investments[s.inv];
          const bodies = reversalEvents(inv, s.kind, seed);
          for (const body of bodies) {
            await Promise.all(Array.from({ length: s.copies }, () => sendWebhook(body)));
          }
          break;
        }
        case "kyc":
          await setKyc(investors[s.who].id, "verified");
          break;
        case "wallet":
          if (!investors[s.who].wallet) {
            investors[s.who].wallet = await setWallet(investors[s.who].jwt);
          }
          break;
        case "distribute": {
          if (s.dbErrorOnConfirm) {
            await sql.unsafe(`
              create or replace function app.zz_chaos_refuse() returns trigger language plpgsql as $$
              begin raise exception 'chaos: database error on confirm'; end $$;
              create trigger zz_chaos_refuse before insert or update on app.token_holdings
                for each row execute function app.zz_chaos_refuse();`);
          }
          try {
            await Promise.all(
              Array.from({ length: s.workers }, (_, k) =>
                distribute({
                  receipt_timeout_ms: 3000,
                  ...(k === 0 && s.fault ? { _fault: s.fault } : {}),
                })),
            );
          } finally {
            if (s.dbErrorOnConfirm) {
              await sql.unsafe(`drop trigger if exists zz_chaos_refuse on app.token_holdings;
                drop function if exists app.zz_chaos_refuse();`);
            }
          }
          break;
        }
        case "pause_mining_distribute": {
          await chain.call("evm_setAutomine", [false]);
          try {
            await distribute({ receipt_timeout_ms: 200 });
            const pending = await sql<{ tx_hash: string }[]>`
              select tx_hash from app.token_transfers where status = 'broadcast' and tx_hash is not null
               order by nonce desc limit ${s.drop}`;
            for (const p of pending) await chain.call("anvil_dropTransaction", [p.tx_hash]);
          } finally {
            await chain.call("evm_setAutomine", [true]);
            await chain.call("evm_mine", []);
          }
          break;
        }
        case "fee_spike": {
          await chain.call("anvil_setNextBlockBaseFeePerGas", [
            "0x" + (BigInt(s.gwei) * 1_000_000_000n).toString(16),
          ]);
          await distribute({ receipt_timeout_ms: 300 });
          // The fee falls back for what follows (a block at the spiked fee, then a calm one).
          await chain.call("evm_mine", []);
          await chain.call("anvil_setNextBlockBaseFeePerGas", ["0x3b9aca00"]);
          break;
        }
        case "interval_mining": {
          // Blocks every 1-2 s instead of at once: receipts arrive late, runs leave work pending.
          await chain.call("evm_setIntervalMining", [s.seconds]);
          try {
            await distribute({ receipt_timeout_ms: 3000 });
            await reconcile({ receipt_timeout_ms: 1000 });
          } finally {
            await chain.call("evm_setIntervalMining", [0]);
            await chain.call("evm_setAutomine", [true]);
          }
          break;
        }
        case "reorg": {
          // A run mines transfers, then its newest blocks are taken away with their transactions
          // (shallower than min_confirmations: none of them was final).
          // A real reorg replaces blocks with as many new ones (the head does not fall, so what was
          // final stays final): the rollback, then as many empty blocks, without those transactions.
          await distribute({ receipt_timeout_ms: 1000 });
          await chain.call("anvil_rollback", [s.depth]);
          await chain.call("anvil_mine", ["0x" + s.depth.toString(16)]);
          break;
        }
        case "rpc_fault": {
          await setChainFault(stack.chain_fault_proxy_url!, s.mode);
          try {
            await distribute({ receipt_timeout_ms: 2000 });
            await reconcile({ receipt_timeout_ms: 1000 });
          } finally {
            await setChainFault(stack.chain_fault_proxy_url!, "ok");
          }
          break;
        }
        case "treasury_short_gas": {
          const balance = await chain.call<string>("eth_getBalance", [
            stack.treasury_address,
            "latest",
          ]);
          await chain.call("anvil_setBalance", [stack.treasury_address, "0x3e8"]);
          try {
            await distribute({ receipt_timeout_ms: 1000 });
          } finally {
            await chain.call("anvil_setBalance", [stack.treasury_address, balance]);
          }
          break;
        }
        case "reconcile":
          await reconcile({ receipt_timeout_ms: 3000 });
          break;
        case "restart_postgres": {
          const run = distribute({ receipt_timeout_ms: 3000 }).catch(() => null);
          await new Promise((r) => setTimeout(r, 20));
          await restartCluster(stackDir, new URL(stack.db_url).port);
          await run;
          break;
        }
        case "stake": {
          const who = investors[s.who];
          await svc("credit_funded_wallet", {
            p_user_id: who.id,
            p_amount: s.amount,
            p_reference: `chaos-${crypto.randomUUID()}`,
          });
          await rpcHttp("create_stake", { p_amount: s.amount }, who.jwt);
          break;
        }
        case "queue_slot":
          await svc("admin_queue_distribution", {
            p_distribution_date: date,
            p_slots: [{ slot_number: s.slot, ros_percentage: s.pct, scheduled_for: at(s.minute) }],
          });
          break;
        case "execute_slots":
          await Promise.all(
            Array.from(
              { length: s.callers },
              () => svc("execute_due_slots", { p_now: at(s.upToMinute) }),
            ),
          );
          break;
        case "retry_slot":
          await svc("admin_retry_slot", { p_distribution_date: date, p_slot_number: s.slot });
          break;
        case "ros_parts":
          await sql`update app.settings set value = ${
            String(s.stakes)
          } where key = 'ros_part_stakes'`;
          await sql`update app.settings set value = ${
            s.oneAPartPerCall ? "0 seconds" : "60 seconds"
          }
                     where key = 'ros_call_budget'`;
          break;
        case "execute_cut":
          await executeCut(sql, s.mode, s.ms, at(s.upToMinute));
          break;
        case "cancel_slot":
          await svc("admin_cancel_slot", { p_distribution_date: date, p_slot_number: s.slot });
          break;
      }
    }
    return await recoverAndCheck(
      sql,
      seedUsers(),
      investments.map((i) => i.inv.investment_id),
      date,
      at,
    );
  } finally {
    await chain.call("evm_setAutomine", [true]).catch(() => {});
    await setChainFault(stack.chain_fault_proxy_url!, "ok").catch(() => {});
    await svc("admin_set_chain_policy", {
      p_chain_id: stack.chain_id,
      p_min_confirmations: policy.body.min_confirmations,
    }).catch(() => {});
    await dropNetRequests(false).catch(() => {});
    await sql`update app.settings set value = 'on' where key = 'auto_distribute'`.catch(() => {});
    await sql`update app.settings set value = case key when 'ros_part_stakes' then '50000'
                else '60 seconds' end where key in ('ros_part_stakes', 'ros_call_budget')`
      .catch(() => {});
    await sql.end();
  }
}

/** While on, every request queued for pg_net is lost before it is sent, as one pg_net took off
 * its queue and never delivered: nothing queued through it may be needed for correctness. */
async function dropNetRequests(on: boolean) {
  // The net schema belongs to the local superuser, as on hosted Supabase.
  const sql = postgres(stack.admin_db_url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(on ? DROP_NET_ON : DROP_NET_OFF);
  } finally {
    await sql.end();
  }
}

const DROP_NET_ON = `
      create or replace function app.zz_chaos_drop_net() returns trigger language plpgsql
        as $$ begin return null; end $$;
      create or replace trigger zz_chaos_drop_net before insert on net.http_request_queue
        for each row execute function app.zz_chaos_drop_net();`;
const DROP_NET_OFF = `drop trigger if exists zz_chaos_drop_net on net.http_request_queue;
      drop function if exists app.zz_chaos_drop_net();`;

/** One execute_due_slots call stopped from outside after `ms`: cancelled like a statement that
 * reached its timeout, or its backend killed like a crash. Either may land before, between or
 * inside parts; what the call had not committed must be as if it never ran. */
async function executeCut(
  sql: ReturnType<typeof db>,
  mode: "timeout" | "kill",
  ms: number,
  now: string,
) {
  if (mode === "timeout") {
    await sql.begin(async (t) => {
      await t`select set_config('statement_timeout', ${String(ms)}, true)`;
      await t`select public.execute_due_slots(${now})`;
    }).catch((e) => {
      if (e?.code !== "57014") throw e;
    });
    return;
  }
  // Killed while it runs: the backend serving the API's call is terminated, as a crash would.
  const call = svc("execute_due_slots", { p_now: now }).catch(() => null);
  await new Promise((r) => setTimeout(r, ms));
  await sql`select pg_terminate_backend(pid) from pg_stat_activity
             where pid <> pg_backend_pid() and query like '%execute_due_slots%'
               and query not like '%pg_terminate_backend%'`;
  await call;
}

async function recoverAndCheck(
  sql: ReturnType<typeof db>,
  users: string[],
  investmentIds: string[],
  date: string,
  at: (m: number) => string,
): Promise<string[]> {
  // Recovery: what the cron jobs do, until nothing is in flight or waiting.
  for (let round = 0; round < 8; round++) {
    // Depth for what was mined (min_confirmations 3), as a real chain's next blocks would bring.
    await chain.call("anvil_mine", ["0x3"]);
    await reconcile({ receipt_timeout_ms: 5000 });
    await distribute({ receipt_timeout_ms: 5000 });
    const [open] = await sql`
      select count(*) filter (where t.status in ('planned', 'signed', 'broadcast', 'mined'))::int as in_flight
        from app.token_transfers t where t.user_id = any(${users}::uuid[])`;
    const [waiting] = await sql`
      select count(*)::int as n from app.investments i join app.profiles p on p.user_id = i.user_id
       where i.id = any(${investmentIds}::uuid[]) and i.payment_status in ('confirmed', 'distributing')
         and i.refund_hold is null and p.kyc_status = 'verified' and p.wallet_address is not null`;
    if (open.in_flight === 0 && waiting.n === 0) break;
  }
  // pg_cron's calls, until a call finds nothing left (a call may pay a single part).
  const drain = async () => {
    for (let call = 0; call < 10_000; call++) {
      const r = await svc("execute_due_slots", { p_now: at(2000) });
      if (r.status !== 200) {
        throw new Error(`execute_due_slots answered ${r.status}: ${JSON.stringify(r.body)}`);
      }
      if (r.body === 0) return;
    }
    throw new Error("execute_due_slots still finds work after 10,000 calls");
  };
  await drain();
  const completed = await sql<{ slot_number: number }[]>`
    select slot_number from app.ros_slots where distribution_date = ${date} and status = 'COMPLETED'`;
  for (const c of completed) {
    const r = await svc("admin_retry_slot", {
      p_distribution_date: date,
      p_slot_number: c.slot_number,
    });
    if (r.status !== 200) {
      throw new Error(`admin_retry_slot answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    // What its budget handed to the executor is finished before the day's next slot is retried
    // (one slot of a day executes at a time: 409 until then).
    if (r.body.queued) await drain();
  }

  const bad = await tokenInvariants(sql, users);
  const stuck = await sql`
    select i.id, i.payment_status from app.investments i join app.profiles p on p.user_id = i.user_id
     where i.id = any(${investmentIds}::uuid[]) and i.payment_status in ('confirmed', 'distributing')
       and i.refund_hold is null and p.kyc_status = 'verified' and p.wallet_address is not null`;
  if (stuck.length) {
    bad.push(`${stuck.length} paid investments of qualified investors were never distributed`);
  }
  const inFlight =
    await sql`select id, status from app.token_transfers where user_id = any(${users}::uuid[])
    and status in ('planned', 'signed', 'broadcast', 'mined')`;
  if (inFlight.length) bad.push(`${inFlight.length} transfers still in flight after recovery`);
  // The treasury guard: nothing was ever sent that reverted (for lack of tokens or gas, or at all).
  const reverted =
    await sql`select id from app.token_transfers where user_id = any(${users}::uuid[])
    and status = 'failed' and error = 'reverted on chain'`;
  if (reverted.length) bad.push(`${reverted.length} transfers reverted on chain`);
  const mismatched =
    await sql`select id from app.investments where id = any(${investmentIds}::uuid[])
    and payment_status = 'amount_mismatch' and transfer_id is not null`;
  if (mismatched.length) bad.push("an underpaid investment was distributed");
  // No transaction was ever signed above the cap: read every attempt back from the chain.
  const attempts = await sql<{ tx_hash: string }[]>`
    select a.tx_hash from app.transfer_attempts a join app.token_transfers t on t.id = a.transfer_id
     where t.user_id = any(${users}::uuid[])`;
  for (const a of attempts) {
    const tx = await chain.call<{ maxFeePerGas: string } | null>("eth_getTransactionByHash", [
      a.tx_hash,
    ]);
    if (tx && BigInt(tx.maxFeePerGas) > 20_000_000_000n) {
      bad.push(
        `transaction ${a.tx_hash} was signed at ${tx.maxFeePerGas} wei per gas, above the cap`,
      );
    }
  }
  // A held investment (a refund in progress or needing attention, a partial refund) is never
  // claimed while it holds.
  const heldClaimed = await sql`
    select i.id from app.investments i
     where i.id = any(${investmentIds}::uuid[]) and i.refund_hold is not null and i.transfer_id is not null`;
  if (heldClaimed.length) bad.push(`${heldClaimed.length} held investments were claimed`);
  // Reversals: nothing refunded or disputed ever reached the chain, and every alert of a reversal
  // after distribution names an investment that was claimed before the reversal came.
  const reversedOnChain = await sql`
    select i.id from app.investments i
     where i.id = any(${investmentIds}::uuid[]) and i.payment_status in ('refunded', 'disputed')
       and exists (select 1 from app.investment_events e where e.investment_id = i.id and e.status = 'success')`;
  if (reversedOnChain.length) {
    bad.push(`${reversedOnChain.length} refunded or disputed investments reached the chain`);
  }
  const lateFlags = await sql`
    select i.id from app.investments i
     where i.id = any(${investmentIds}::uuid[]) and i.reversal is not null
       and not exists (select 1 from app.investment_events e where e.investment_id = i.id
                        and e.status = 'processing' and e.created_at <= i.reversal_at)`;
  if (lateFlags.length) {
    bad.push(
      `${lateFlags.length} reversal alerts on investments not claimed when the reversal came`,
    );
  }
  // ROS and ledger invariants (global).
  const ledger = await sql`select * from app.ledger_violations()`;
  if (ledger.length) bad.push(`ledger: ${JSON.stringify(ledger.slice(0, 3))}`);
  const [earned] = await sql`select count(*)::int as n from app.stakes s
    where s.total_earned <> coalesce((select sum(p.amount) from app.ros_payouts p where p.stake_id = s.id), 0)
       or s.total_earned > floor(s.amount * s.max_return_percent) / 100`;
  if (earned.n) {
    bad.push(`${earned.n} stakes whose total_earned is not the sum of payouts or exceeds the cap`);
  }
  const slots = await sql<{ slot_number: number; status: string; missing: number }[]>`
    select slot_number, status, (app.count_slot_payouts(s)).missing::int as missing from app.ros_slots s
     where distribution_date = ${date}`;
  for (const s of slots) {
    if (s.status === "PENDING" || s.status === "EXECUTING" || s.status === "FAILED") {
      bad.push(`slot ${s.slot_number} ended ${s.status}`);
    }
    if (s.status === "COMPLETED" && s.missing > 0) {
      bad.push(`slot ${s.slot_number} is missing ${s.missing} payouts`);
    }
  }
  return bad;
}
