import assert from "node:assert/strict";
import { signJwt } from "../../../local/jwt.ts";
import { claimsOf, isServiceOrMfaAdmin } from "./caller.ts";

const req = (claims: Record<string, unknown>) =>
  new Request("http://x", {
    headers: { authorization: `Bearer ${signJwt(claims, "s".repeat(40))}` },
  });

Deno.test("the service role and an admin with aal2 may run the token functions", () => {
  assert.equal(isServiceOrMfaAdmin(claimsOf(req({ role: "service_role" }))), true);
  assert.equal(
    isServiceOrMfaAdmin(
      claimsOf(req({ role: "authenticated", aal: "aal2", app_metadata: { role: "admin" } })),
    ),
    true,
  );
});

Deno.test("an admin without MFA, a user, anon and no token may not", () => {
  assert.equal(
    isServiceOrMfaAdmin(
      claimsOf(req({ role: "authenticated", aal: "aal1", app_metadata: { role: "admin" } })),
    ),
    false,
  );
  assert.equal(isServiceOrMfaAdmin(claimsOf(req({ role: "authenticated", aal: "aal2" }))), false);
  assert.equal(isServiceOrMfaAdmin(claimsOf(req({ role: "anon" }))), false);
  assert.equal(isServiceOrMfaAdmin(claimsOf(new Request("http://x"))), false);
  assert.equal(
    isServiceOrMfaAdmin(
      claimsOf(new Request("http://x", { headers: { authorization: "Bearer junk" } })),
    ),
    false,
  );
});
