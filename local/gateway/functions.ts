// /functions/v1/<name>: runs supabase/functions/<name>/handler.ts in a worker process of its own,
// within the edge runtime's limits (function-pool.ts), and passes the request on unchanged. JWT
// verification follows supabase/config.toml (`verify_jwt`, default true), as the hosted edge
// gateway does.
import { verifyJwt } from "../jwt.ts";
import { bearerToken } from "./auth.ts";
import { jsonResponse } from "./errors.ts";
import { type EdgeLimits, functionPool, HOSTED_EDGE_LIMITS } from "./function-pool.ts";

const projectFunctions = new URL("../../supabase/functions/", import.meta.url);
const configUrl = new URL("../../supabase/config.toml", import.meta.url);

/** The function names whose config.toml block says `verify_jwt = false`. */
export function publicFunctions(toml: string): Set<string> {
  const open = new Set<string>();
  let current: string | null = null;
  for (const line of toml.split("\n")) {
    const section = /^\s*\[functions\.([A-Za-z0-9_-]+)\]\s*$/.exec(line);
    if (section) {
      current = section[1];
      continue;
    }
    if (/^\s*\[/.test(line)) current = null;
    if (current && /^\s*verify_jwt\s*=\s*false\b/.test(line)) open.add(current);
  }
  return open;
}

export type FunctionOptions = {
  /** Where the functions live (a test serves its own); the project's supabase/functions/ else. */
  functionsDir?: URL;
  limits?: EdgeLimits;
};

export function functionRouter(jwtSecret: string, opts: FunctionOptions = {}) {
  const open = publicFunctions(Deno.readTextFileSync(configUrl));
  const functionsDir = opts.functionsDir ?? projectFunctions;
  const pool = functionPool(opts.limits ?? HOSTED_EDGE_LIMITS);
  const route = async (name: string, req: Request): Promise<Response> => {
    if (!/^[a-z0-9-]+$/.test(name)) return jsonResponse(404, { message: "function not found" });
    if (!open.has(name)) {
      const token = bearerToken(req);
      if (!token || !verifyJwt(token, jwtSecret)) {
        return jsonResponse(401, { code: 401, message: "Invalid or missing JWT" });
      }
    }
    const handler = new URL(`${name}/handler.ts`, functionsDir);
    try {
      Deno.statSync(handler);
    } catch {
      return jsonResponse(404, { message: `function ${name} not found` });
    }
    return await pool.run(name, handler.href, req);
  };
  return { route, close: pool.close };
}
