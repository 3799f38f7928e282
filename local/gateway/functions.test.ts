import assert from "node:assert/strict";
import { publicFunctions } from "./functions.ts";
import { signJwt, verifyJwt } from "../jwt.ts";

Deno.test("config.toml: only blocks with verify_jwt = false are public", () => {
  const open = publicFunctions(`
[functions.a]
verify_jwt = false
[functions.b]
verify_jwt = true
[functions.c]
import_map = "x"
[db]
verify_jwt = false
`);
  assert.deepEqual([...open], ["a"]);
});

Deno.test("the project's config leaves only paystack-webhook open", () => {
  const toml = Deno.readTextFileSync(new URL("../../supabase/config.toml", import.meta.url));
  assert.deepEqual([...publicFunctions(toml)], ["paystack-webhook"]);
});

Deno.test("JWT: round trip, wrong secret, tampered payload", () => {
  const secret = "s".repeat(40);
  const t = signJwt({ role: "anon" }, secret);
  assert.deepEqual(verifyJwt(t, secret), { role: "anon" });
  assert.equal(verifyJwt(t, "x".repeat(40)), null);
  const [h, , s] = t.split(".");
  const body = btoa(JSON.stringify({ role: "service_role" })).replace(/=+$/, "");
  assert.equal(verifyJwt(`${h}.${body}.${s}`, secret), null);
});
