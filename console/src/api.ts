/// <reference lib="dom" />
import type { Database } from "../../supabase/functions/_shared/database.types.ts";
import { parseResult, type RpcResult } from "../../supabase/functions/_shared/rpc-results.ts";
import type { Client } from "./client.ts";

type Functions = Database["public"]["Functions"];

/** Calls an RPC and returns its answer parsed by its schema (rpc-results.ts, shared with the
 * functions), or throws its error (message, hint, details, code) for the page to show: never
 * swallowed. A renamed key fails the parse here, never as an undefined on the page. */
export async function call<F extends keyof Functions & string>(
  client: Client,
  fn: F,
  args: Functions[F]["Args"],
): Promise<RpcResult<F>> {
  const { data, error } = await client.rpc(fn, args as never);
  if (error) throw error;
  return parseResult(fn, data);
}

export type { RpcResult };

/** A day's distribution with its slots (admin_distribution_status). */
export type Declaration = RpcResult<"admin_distribution_status">;
export type Slot = Declaration["slots"][number];

/** The slot rows the forms send: what admin_queue_distribution and admin_add_slots take (the
 * percentage as its decimal text: exact). */
export type SlotInput = { slot_number: number; ros_percentage: string; scheduled_for: string };

/** Retries a FAILED or COMPLETED slot; says how many stakes it paid now (a second retry pays 0). */
export async function retrySlot(
  client: Client,
  day: string,
  slot: number,
): Promise<string> {
  const r = await call(client, "admin_retry_slot", {
    p_distribution_date: day,
    p_slot_number: slot,
  });
  return `Slot ${slot} retried: ${r.paid_now} stakes paid now`;
}
