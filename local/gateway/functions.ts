// /functions/v1/<name>: imports supabase/functions/<name>/handler.ts and passes the request on
// unchanged. JWT verification follows supabase/config.toml (`verify_jwt`, default true), as the
// hosted edge gateway does.
import { verifyJwt } from "../jwt.ts";
import { bearerToken } from "./auth.ts";
import { jsonResponse } from "./errors.ts";

type Handler = { fetch: (req: Request) => Response | Promise<Response> };

const functionsDir = new URL("../../supabase/functions/", import.meta.url);
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

export function functionRouter(jwtSecret: string) {
  const open = publicFunctions(Deno.readTextFileSync(configUrl));
  const cache = new Map<string, Promise<Handler>>();
  return async (name: string, req: Request): Promise<Response> => {
    if (!/^[a-z0-9-]+$/.test(name)) return jsonResponse(404, { message: "function not found" });
    if (!open.has(name)) {
      const token = bearerToken(req);
      if (!token || !verifyJwt(token, jwtSecret)) {
        return jsonResponse(401, { code: 401, message: "Invalid or missing JWT" });
      }
    }
    let mod = cache.get(name);
    if (!mod) {
      const url = new URL(`${name}/handler.ts`, functionsDir);
      try {
        Deno.statSync(url);
      } catch {
        return jsonResponse(404, { message: `function ${name} not found` });
      }
      mod = import(url.href).then((m) => m.default as Handler);
      cache.set(name, mod);
    }
    return await (await mod).fetch(req);
  };
}
