// Who is calling: the JWT from `Authorization: Bearer` (or `apikey` alone) picks the database role,
// as PostgREST does. No token means anon.
import { type Claims, verifyJwt } from "../jwt.ts";

export const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

export type Caller = { role: string; claims: Claims };
export type AuthResult = { ok: true; caller: Caller } | { ok: false; message: string };

export function bearerToken(req: Request): string | null {
  const auth = req.headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1];
  }
  return req.headers.get("apikey");
}

export function authenticate(req: Request, jwtSecret: string): AuthResult {
  const token = bearerToken(req);
  if (!token) return { ok: true, caller: { role: "anon", claims: { role: "anon" } } };
  const claims = verifyJwt(token, jwtSecret);
  if (!claims) return { ok: false, message: "JWSError JWSInvalidSignature" };
  const role = typeof claims.role === "string" ? claims.role : "anon";
  if (!API_ROLES.has(role)) return { ok: false, message: `role "${role}" is not allowed` };
  return { ok: true, caller: { role, claims } };
}
