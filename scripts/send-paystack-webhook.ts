// Sends a correctly signed Paystack webhook to the local stack, as Paystack would, in Paystack's
// published shape (tests/fixtures/paystack):
//   deno run -A scripts/send-paystack-webhook.ts --reference INV-... --amount 100000 [--currency NGN] [--id 123]
//     [--event charge.success | refund.pending | refund.processing | refund.needs-attention |
//              refund.processed | refund.failed | charge.dispute.create | charge.dispute.remind |
//              charge.dispute.resolve] [--resolution declined]
// With --invest N it first creates an investment of N tokens for the seed investor and pays it.
import { paystackSignature } from "../supabase/functions/_shared/paystack-signature.ts";
import { signJwt } from "../local/jwt.ts";
import {
  chargeSuccess,
  disputeEvent,
  type DisputeKind,
  refundEvent,
  type RefundStage,
} from "../tests/_support/paystack-events.ts";

const stackPath = Deno.env.get("STACK_JSON") ??
  `${Deno.env.get("STACK_DIR") ?? new URL("../.local", import.meta.url).pathname}/stack.json`;
const stack = JSON.parse(await Deno.readTextFile(stackPath));

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

let reference = arg("reference");
let amount = arg("amount");
let currency = arg("currency") ?? "NGN";
const invest = arg("invest");
if (invest) {
  // The seed investor (supabase/seed.sql) buys tokens through the API, like the app does.
  const investor = arg("user") ?? "00000000-0000-4000-8000-00000000b001";
  const jwt = signJwt({
    sub: investor,
    role: "authenticated",
    aal: "aal1",
    exp: Math.floor(Date.now() / 1000) + 600,
  }, stack.jwt_secret);
  const res = await fetch(`${stack.api_url}/rest/v1/rpc/create_investment`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      apikey: stack.anon_key,
      authorization: `Bearer ${jwt}`,
    },
    body: JSON.stringify({ p_tokenization_id: stack.tokenization_id, p_tokens: invest }),
  });
  const inv = await res.json();
  if (!res.ok) throw new Error(`create_investment failed: ${JSON.stringify(inv)}`);
  console.log("investment", inv);
  reference = inv.reference;
  amount = String(inv.amount_subunit);
  currency = inv.currency;
}
if (!reference || !amount) {
  console.error(
    "usage: --reference REF --amount KOBO [--currency NGN] [--id N] | --invest TOKENS [--user UUID]",
  );
  Deno.exit(2);
}

const type = arg("event") ?? "charge.success";
const id = Number(arg("id") ?? Date.now());
const event = type === "charge.success"
  ? chargeSuccess({ id, reference, amount: Number(amount), currency })
  : type.startsWith("refund.")
  ? refundEvent(type.slice("refund.".length) as RefundStage, { reference, amount, currency })
  : type.startsWith("charge.dispute.")
  ? disputeEvent(type.slice("charge.dispute.".length) as DisputeKind, {
    id,
    reference,
    amount: Number(amount),
    currency,
    resolution: arg("resolution"),
  })
  : null;
if (!event) {
  console.error(`unknown --event ${type}`);
  Deno.exit(2);
}
const body = JSON.stringify(event);
const signature = paystackSignature(new TextEncoder().encode(body), stack.paystack_secret_key);
const res = await fetch(`${stack.api_url}/functions/v1/paystack-webhook`, {
  method: "POST",
  headers: { "content-type": "application/json", "x-paystack-signature": signature },
  body,
});
console.log(res.status, await res.text());
