// Sends a correctly signed Paystack `charge.success` webhook to the local stack, as Paystack would.
//   deno run -A scripts/send-paystack-webhook.ts --reference INV-... --amount 100000 [--currency NGN] [--id 123]
// With --invest N it first creates an investment of N tokens for the seed investor and pays it.
import { paystackSignature } from "../supabase/functions/_shared/paystack-signature.ts";
import { signJwt } from "../local/jwt.ts";

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

const body = JSON.stringify({
  event: "charge.success",
  data: {
    id: Number(arg("id") ?? Date.now()),
    status: "success",
    reference,
    amount: Number(amount),
    currency,
    metadata: "",
    customer: { email: "investor@example.com" },
  },
});
const signature = paystackSignature(new TextEncoder().encode(body), stack.paystack_secret_key);
const res = await fetch(`${stack.api_url}/functions/v1/paystack-webhook`, {
  method: "POST",
  headers: { "content-type": "application/json", "x-paystack-signature": signature },
  body,
});
console.log(res.status, await res.text());
