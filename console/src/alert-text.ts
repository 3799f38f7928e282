// Token and payment alerts as sentences an operator reads: what happened, to whom (their name and
// email when the page looked them up, else a short id),
// the amounts formatted (money with its currency, tokens as integers, wei as gwei), never the raw
// record (the page keeps that in a "details" disclosure for support).
import type { RpcResult } from "./api.ts";

/** An alert record of any kind: `kind`, then the fields of that kind. */
export type Alert = Record<string, unknown> & { kind: string };
/** The labels of the people the alerts name (people.ts), by user id. */
export type Labels = Map<string, string>;

const short = (
  v: unknown,
) => (typeof v === "string" && v.length > 8 ? v.slice(0, 8) : String(v ?? "?"));
const investment = (a: Alert) => `investment ${short(a.investment_id)}`;

/** Kobo as money with its currency: "NGN 1,500.00". Exact: integer arithmetic on the digits. */
export function money(kobo: unknown, currency = "NGN"): string {
  const digits = String(kobo ?? "0").replace(/^-/, "");
  if (!/^\d+$/.test(digits)) return `${currency} ?`;
  const padded = digits.padStart(3, "0");
  const whole = padded.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${currency} ${whole}.${padded.slice(-2)}`;
}

/** Wei as gwei, exactly: "25.5 gwei". */
export function gwei(wei: unknown): string {
  const digits = String(wei ?? "");
  if (!/^\d+$/.test(digits)) return "? gwei";
  const padded = digits.padStart(10, "0");
  const frac = padded.slice(-9).replace(/0+$/, "");
  return `${padded.slice(0, -9).replace(/^0+(?=\d)/, "")}${frac ? "." + frac : ""} gwei`;
}

/** A whole number of tokens (or a count) with thousands separators, exactly: "1,234,567". */
export function tokenCount(v: unknown): string {
  const digits = String(v ?? "");
  if (!/^\d+$/.test(digits)) return "?";
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

const tokens = (v: unknown) => `${tokenCount(v)} tokens`;

export function alertSentence(a: Alert, people: Labels = new Map()): string {
  const who = (a: Alert) =>
    typeof a.user_id === "string"
      ? `investor ${people.get(a.user_id) ?? short(a.user_id)}`
      : "an investor";
  switch (a.kind) {
    case "stuck_transfer":
      return `A transfer to ${
        who(a)
      } has been ${a.status} since it was last touched (nonce ${a.nonce}).`;
    case "failed_transfer":
      return `A transfer to ${who(a)} failed: ${a.error ?? "no reason recorded"}.`;
    case "discrepancy":
      return `The chain and the books disagree for ${who(a)}.`;
    case "audit_unavailable":
      return `Tokenization ${
        short(a.tokenization_id)
      } could not be audited (its chain or contract could not be read).`;
    case "reorg_detected":
      return `A confirmed transfer to ${who(a)} is no longer on the chain (a reorganisation).`;
    case "waiting_on_kyc":
      return `${who(a)} has ${a.investments} paid investment(s) (${
        tokens(a.tokens)
      }) waiting for a KYC decision.`;
    case "waiting_on_wallet":
      return `${who(a)} has ${a.investments} paid investment(s) (${
        tokens(a.tokens)
      }) waiting for a payout wallet.`;
    case "amount_mismatch":
      return `The payment of ${investment(a)} (${who(a)}) did not match its amount.`;
    case "investment_failed":
      return `${investment(a)} (${who(a)}) failed after three transfers.`;
    case "fee_cap_exceeded":
      return `Chain ${a.chain_id} asks ${gwei(a.base_fee_per_gas)} per gas, above the cap of ${
        gwei(a.max_fee_per_gas)
      }: nothing is signed there.`;
    case "treasury_insufficient_tokens":
      return `The treasury on chain ${a.chain_id} holds too few tokens for what waits.`;
    case "treasury_insufficient_gas":
      return `The treasury on chain ${a.chain_id} holds too little gas for what waits.`;
    case "refund_after_distribution":
      return `${investment(a)} (${who(a)}) was refunded after its ${tokens(a.tokens)} were sent.`;
    case "dispute_after_distribution":
      return `${investment(a)} (${who(a)}) is disputed after its ${tokens(a.tokens)} were sent.`;
    case "token_unreadable":
      return `Token ${short(a.token_address)} (property ${a.property_id}) cannot be read: ${
        a.error ?? "unknown"
      }; ${a.waiting} investment(s) wait.`;
    case "paystack_event_unprocessable":
      return `A signed ${a.event_type} event${
        a.reference ? ` for reference ${a.reference}` : ""
      } could not be applied: ${a.reason}.`;
    case "partial_refund":
      return `${investment(a)} (${who(a)}) was partly refunded: ${
        money(a.refunded_kobo, String(a.currency ?? "NGN"))
      } of ${money(a.paid_kobo, String(a.currency ?? "NGN"))}.`;
    case "refund_needs_attention":
      return `A refund of ${investment(a)} (${who(a)}) needs attention on Paystack.`;
    case "payment_unverified":
      return `${investment(a)} (${who(a)}, ${
        money(a.amount_kobo, String(a.currency ?? "NGN"))
      }) was never paid.`;
    case "webhook_silent":
      return `No signed Paystack event has arrived while ${a.pending} payment(s) wait.`;
    default:
      return a.kind.replaceAll("_", " ");
  }
}

/** A ROS alert as admin_ros_alerts answers it. */
export type RosAlertFields = RpcResult<"admin_ros_alerts">[number];

/** A ROS alert as a sentence (the raw detail stays behind a "details" disclosure). */
export function rosAlertSentence(a: RosAlertFields): string {
  const d = a.detail;
  const slot = a.slot_number === null
    ? `The day ${a.distribution_date}`
    : `Slot ${a.slot_number} of ${a.distribution_date}`;
  switch (a.kind) {
    case "slot_failed":
      return `${slot} failed: ${d.error_message ?? "no reason recorded"} (${
        d.error_count ?? 0
      } error(s)).`;
    case "silent_completion":
      return `${slot} completed without paying anyone although ${d.eligible_stakes} stake(s) were eligible.`;
    case "partial_completion":
      return a.slot_number === null
        ? `${slot} ended with ${d.completed} slot(s) completed and ${d.failed} failed.`
        : `${slot} paid ${d.users_processed} stake(s) and missed ${d.missing}.`;
    case "missing_payouts":
      return `${slot} is missing ${d.missing} payout(s).`;
    case "overdue_slot":
      return `${slot} has not run: it was due ${d.late_by ?? "a while"} ago.`;
    default:
      return `${a.kind.replaceAll("_", " ")}: ${slot}.`;
  }
}
