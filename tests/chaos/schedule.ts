// A chaos schedule: a seeded list of steps over investors, webhooks, distribution workers,
// reconciler runs, ROS slots and admin changes, with faults injected at named points.
import type { Rng } from "./prng.ts";

export type Step =
  | { op: "investor"; verified: boolean; wallet: boolean }
  | { op: "invest"; who: number; tokens: number }
  // netDrop: the distribution run the event queues through pg_net is lost (pg_net never retries).
  | { op: "webhook"; inv: number; copies: number; underpay: boolean; netDrop: boolean }
  | { op: "reversal"; inv: number; kind: Reversal; copies: number }
  | { op: "kyc"; who: number }
  | { op: "wallet"; who: number }
  | { op: "distribute"; workers: number; fault: string | null; dbErrorOnConfirm: boolean }
  | { op: "pause_mining_distribute"; drop: number }
  | { op: "fee_spike"; gwei: number }
  | { op: "interval_mining"; seconds: number }
  | { op: "reorg"; depth: number }
  | {
    op: "rpc_fault";
    mode: "down" | "429" | "lag:2" | "flap:2" | "receipts_lag:2" | "batch_limit:3";
  }
  | { op: "treasury_short_gas" }
  | { op: "reconcile" }
  | { op: "restart_postgres" }
  | { op: "stake"; who: number; amount: number }
  | { op: "queue_slot"; slot: number; pct: number; minute: number }
  | { op: "execute_slots"; callers: number; upToMinute: number }
  // Slots paid in parts of `stakes` stakes; with oneAPartPerCall, each call pays a single part.
  | { op: "ros_parts"; stakes: number; oneAPartPerCall: boolean }
  // An executor call stopped from outside after `ms`: its statement cancelled (as a timeout does)
  // or its backend killed (as a crash does), before, between or inside parts.
  | { op: "execute_cut"; mode: "timeout" | "kill"; ms: number; upToMinute: number }
  | { op: "retry_slot"; slot: number }
  | { op: "cancel_slot"; slot: number };

export type Reversal =
  | "refund"
  | "partial_refund"
  | "refund_needs_attention"
  | "refund_started"
  | "dispute_open"
  | "dispute_won"
  | "dispute_lost";
const REVERSALS: Reversal[] = [
  "refund",
  "partial_refund",
  "refund_needs_attention",
  "refund_started",
  "dispute_open",
  "dispute_won",
  "dispute_lost",
];

// A crash at a point (the function throws there), or the run stopped at its CPU limit there by the
// edge runtime (spin_: the worker is killed mid-run, 546).
const FAULTS = [
  "after_claim",
  "after_sign",
  "after_record",
  "after_broadcast",
  "before_confirm",
  "spin_after_sign",
  "spin_after_broadcast",
  "spin_before_confirm",
];

export function schedule(rng: Rng, length: number): Step[] {
  const steps: Step[] = [];
  let investors = 0;
  let investments = 0;
  let slots = 0;
  const add = (s: Step) => steps.push(s);
  for (let i = 0; i < 3; i++) {
    add({ op: "investor", verified: rng.chance(0.7), wallet: rng.chance(0.8) });
    investors++;
  }
  add({ op: "ros_parts", stakes: rng.int(1, 4), oneAPartPerCall: rng.chance(0.5) });
  while (steps.length < length) {
    const r = rng.next();
    if (r < 0.1) {
      add({ op: "investor", verified: rng.chance(0.7), wallet: rng.chance(0.8) });
      investors++;
    } else if (r < 0.25) {
      add({ op: "invest", who: rng.int(0, investors - 1), tokens: rng.int(1, 20) });
      investments++;
    } else if (r < 0.4 && investments > 0) {
      add({
        op: "webhook",
        inv: rng.int(0, investments - 1),
        copies: rng.int(1, 3),
        underpay: rng.chance(0.1),
        netDrop: rng.chance(0.15),
      });
    } else if (r < 0.45 && investments > 0) {
      // Money going back, at any moment: before the charge, while a run claims, after the tokens.
      add({
        op: "reversal",
        inv: rng.int(0, investments - 1),
        kind: rng.pick(REVERSALS),
        copies: rng.int(1, 2),
      });
    } else if (r < 0.48) {
      add({ op: "kyc", who: rng.int(0, investors - 1) });
    } else if (r < 0.5) {
      add({ op: "wallet", who: rng.int(0, investors - 1) });
    } else if (r < 0.62) {
      add({
        op: "distribute",
        workers: rng.int(1, 3),
        fault: rng.chance(0.4) ? rng.pick(FAULTS) : null,
        dbErrorOnConfirm: rng.chance(0.1),
      });
    } else if (r < 0.645) {
      add({ op: "pause_mining_distribute", drop: rng.int(0, 2) });
    } else if (r < 0.66) {
      // The next block's base fee jumps (above the 20 gwei default cap, or not) for one run.
      add({ op: "fee_spike", gwei: rng.int(5, 60) });
    } else if (r < 0.68) {
      // A real chain's pace: a block every 1-2 s while a run and a reconciler work.
      add({ op: "interval_mining", seconds: rng.int(1, 2) });
    } else if (r < 0.70) {
      // The newest blocks are reorganised away (shallower than min_confirmations 3).
      add({ op: "reorg", depth: rng.int(1, 2) });
    } else if (r < 0.72) {
      // The first RPC endpoint fails, rate-limits, lags, its receipt index trails its head, or it
      // refuses batches of more than 3 calls, for a run and a reconciler run.
      add({
        op: "rpc_fault",
        mode: rng.pick(
          ["down", "429", "lag:2", "flap:2", "receipts_lag:2", "batch_limit:3"] as const,
        ),
      });
    } else if (r < 0.73) {
      add({ op: "treasury_short_gas" });
    } else if (r < 0.75) {
      add({ op: "reconcile" });
    } else if (r < 0.77) {
      add({ op: "restart_postgres" });
    } else if (r < 0.8) {
      add({ op: "stake", who: rng.int(0, investors - 1), amount: rng.int(1, 500) });
    } else if (r < 0.86 && slots < 100) {
      add({ op: "queue_slot", slot: ++slots, pct: rng.int(1, 400) / 100, minute: rng.int(0, 600) });
    } else if (r < 0.91) {
      add({ op: "execute_slots", callers: rng.int(1, 3), upToMinute: rng.int(0, 700) });
    } else if (r < 0.93) {
      add({
        op: "execute_cut",
        mode: rng.pick(["timeout", "kill"] as const),
        ms: rng.int(1, 40),
        upToMinute: rng.int(0, 700),
      });
    } else if (r < 0.97 && slots > 0) {
      add({ op: "retry_slot", slot: rng.int(1, slots) });
    } else if (slots > 0) {
      add({ op: "cancel_slot", slot: rng.int(1, slots) });
    }
  }
  return steps;
}
