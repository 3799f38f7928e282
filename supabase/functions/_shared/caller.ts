// Who called a protected function. The platform gateway (verify_jwt = true) has already checked
// the JWT's signature; here we only read its claims and decide: the service role, or an admin
// who passed MFA (aal2).
export type CallerClaims = { role?: string; aal?: string; app_metadata?: { role?: string } };

export function claimsOf(req: Request): CallerClaims | null {
  const auth = req.headers.get("authorization") ?? "";
  const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1];
  if (!token) return null;
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), "=")));
  } catch {
    return null;
  }
}

export function isServiceOrMfaAdmin(claims: CallerClaims | null): boolean {
  if (!claims) return false;
  if (claims.role === "service_role") return true;
  return claims.role === "authenticated" && claims.app_metadata?.role === "admin" &&
    claims.aal === "aal2";
}
