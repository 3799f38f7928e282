// Placeholder until the pipeline lands: authenticates, then answers 501.
import { claimsOf, isServiceOrMfaAdmin } from "../_shared/caller.ts";
import { problem } from "../_shared/http.ts";

export function handle(req: Request): Response {
  if (!isServiceOrMfaAdmin(claimsOf(req))) {
    return problem(403, "service key or admin with MFA required");
  }
  return problem(501, "not implemented yet");
}

export default { fetch: handle };
