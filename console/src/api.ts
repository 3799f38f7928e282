/// <reference lib="dom" />
import type { Client } from "./client.ts";

// Calls an RPC and returns its data, or throws its error (message, hint, details, code) for the
// page to show: never swallowed.
export async function data<T>(
  request: PromiseLike<{ data: unknown; error: unknown }>,
): Promise<T> {
  const { data, error } = await request;
  if (error) throw error;
  return data as T;
}

export type Slot = {
  slot_number: number;
  ros_percentage: number | string;
  scheduled_for: string;
  status: "PENDING" | "EXECUTING" | "COMPLETED" | "FAILED" | "CANCELLED";
  started_at: string | null;
  executed_at: string | null;
  users_processed: number | null;
  total_distributed: number | string | null;
  error_count: number | null;
  error_message: string | null;
};

export type Declaration = {
  distribution_date: string;
  status: string;
  total_ros_percentage: number | string;
  total_distributed: number | string;
  description: string | null;
  slots: Slot[];
};

/** The slot rows the forms send: what admin_queue_distribution and admin_add_slots take (the
 * percentage as its decimal text: exact). */
export type SlotInput = { slot_number: number; ros_percentage: string; scheduled_for: string };

/** Retries a FAILED or COMPLETED slot; says how many stakes it paid now (a second retry pays 0). */
export async function retrySlot(
  client: Client,
  day: string,
  slot: number,
): Promise<string> {
  const r = await data<{ paid_now: number }>(
    client.rpc("admin_retry_slot", { p_distribution_date: day, p_slot_number: slot }),
  );
  return `Slot ${slot} retried: ${r.paid_now} stakes paid now`;
}
