// HS256 JWTs, as Supabase's legacy anon/service keys are. Used by the gateway to verify callers
// and by the stack and tests to mint keys. node:crypto because JSR (Deno std) is unreachable here.
import { createHmac, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

export type Claims = Record<string, unknown>;

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

export function signJwt(claims: Claims, secret: string): string {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** Returns the claims of a valid, unexpired token, or null. */
export function verifyJwt(token: string, secret: string): Claims | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [head, body, sig] = parts;
  let header: { alg?: string };
  let claims: Claims;
  try {
    header = JSON.parse(Buffer.from(head, "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (header.alg !== "HS256" || typeof claims !== "object" || claims === null) return null;
  const expected = createHmac("sha256", secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) return null;
  return claims;
}
