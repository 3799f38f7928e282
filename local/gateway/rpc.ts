// PostgREST's RPC: POST (or GET) /rest/v1/rpc/<fn> with named arguments. Like PostgREST, the
// gateway never converts an argument itself: the request's JSON goes to Postgres as one value and
// `json_to_record` turns each key into the function's declared parameter type, so `true` is a
// boolean, "2031-02-30" is an invalid date (22008) and a number keeps every digit.
import type postgres from "postgres";
import type { Caller } from "./auth.ts";
import { failure } from "./failure.ts";
import { jsonResponse } from "./errors.ts";
import { catalogRead, literal, runStatement } from "./transaction.ts";
import { MAX_ROWS } from "./limits.ts";

type Sql = postgres.Sql;
type Signature = {
  names: string[];
  types: string[];
  required: number;
  retset: boolean;
  rettype: string;
  volatile: boolean;
  /** The function's own statement_timeout (`set statement_timeout = …`), hoisted per request. */
  hoisted: [string, string][];
};

const IDENT = /^[a-z_][a-z0-9_]*$/;
/** Deeper JSON than this is refused before Postgres' parser would hit its stack limit (a 500). */
export const MAX_JSON_DEPTH = 128;

// PostgREST answers from its schema cache instead of reading the catalog per request. Signatures
// found are kept a moment (a hot RPC then costs one round trip less); a name not found is always
// looked up again, so a function created a moment ago is callable at once.
const SIGNATURE_TTL_MS = 2_000;
const signatures = new Map<string, { at: number; sigs: Signature[] }>();

async function lookupFunction(sql: Sql, name: string): Promise<Signature[]> {
  const hit = signatures.get(name);
  if (hit && Date.now() - hit.at < SIGNATURE_TTL_MS) return hit.sigs;
  const sigs = await readSignatures(sql, name);
  if (sigs.length) signatures.set(name, { at: Date.now(), sigs });
  return sigs;
}

async function readSignatures(sql: Sql, name: string): Promise<Signature[]> {
  const rows = await catalogRead(() =>
    sql<
      {
        names: string[] | null;
        types: string[];
        nargs: number;
        ndefaults: number;
        retset: boolean;
        rettype: string;
        volatility: string;
        config: string[] | null;
      }[]
    >`
    select p.proargnames as names,
           array(select pg_catalog.format_type(t, null) from unnest(p.proargtypes) t) as types,
           p.pronargs as nargs, p.pronargdefaults as ndefaults, p.proretset as retset,
           pg_catalog.format_type(p.prorettype, null) as rettype, p.provolatile as volatility,
           p.proconfig as config
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' and p.proname = ${name} and p.prokind = 'f'`
  );
  return rows.map((r) => ({
    names: (r.names ?? []).slice(0, r.nargs),
    types: r.types,
    required: r.nargs - r.ndefaults,
    retset: r.retset,
    rettype: r.rettype,
    volatile: r.volatility === "v",
    hoisted: (r.config ?? []).filter((c) => c.startsWith("statement_timeout="))
      .map((c) => ["statement_timeout", c.slice(c.indexOf("=") + 1)] as [string, string]),
  }));
}

function pick(sigs: Signature[], keys: string[]): Signature | undefined {
  return sigs.find((s) =>
    keys.every((k) => s.names.includes(k)) &&
    s.names.slice(0, s.required).every((n) => keys.includes(n))
  );
}

/** Nesting depth of a parsed JSON value, without recursion (a hostile body cannot blow the stack). */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d > max) max = d;
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, d + 1]);
  }
  return max;
}

export type RpcArgs = { ok: true; text: string; keys: string[] } | { ok: false; message: string };

/** The request's arguments as one JSON object text: the POST body as sent, or GET's query string. */
export async function readArgs(req: Request, url: URL): Promise<RpcArgs> {
  if (req.method === "GET" || req.method === "HEAD") {
    const args: Record<string, string> = {};
    for (const [k, v] of url.searchParams) {
      if (k in args) return { ok: false, message: `argument ${k} is given more than once` };
      args[k] = v;
    }
    return { ok: true, text: JSON.stringify(args), keys: Object.keys(args) };
  }
  const text = await req.text();
  if (!text.trim()) return { ok: true, text: "{}", keys: [] };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, message: "Empty or invalid json" };
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    return { ok: false, message: "the body must be a JSON object of named arguments" };
  }
  if (jsonDepth(body) > MAX_JSON_DEPTH) {
    return { ok: false, message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  }
  return { ok: true, text, keys: Object.keys(body) };
}

function quoteIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

export async function callRpc(
  sql: Sql,
  caller: Caller,
  name: string,
  args: { text: string; keys: string[] },
  method: string,
): Promise<Response> {
  if (!IDENT.test(name)) return notFound(name, args.keys);
  let sigs: Signature[];
  try {
    sigs = await lookupFunction(sql, name);
  } catch (e) {
    return failure(e, caller);
  }
  const sig = pick(sigs, args.keys);
  if (!sig) return notFound(name, args.keys);
  const columns = args.keys.map((k) => `${quoteIdent(k)} ${sig.types[sig.names.indexOf(k)]}`);
  const named = args.keys.map((k) => `${quoteIdent(k)} => a.${quoteIdent(k)}`);
  const call = `public.${quoteIdent(name)}(${named.join(", ")})`;
  let from = "";
  try {
    from = args.keys.length
      ? ` from pg_catalog.json_to_record(${literal(args.text)}::text::json) as a(${
        columns.join(", ")
      })`
      : "";
  } catch (e) {
    return failure(e, caller);
  }
  // PostgREST's max_rows: at most MAX_ROWS rows of a set-returning function.
  const query = sig.retset
    ? `select coalesce(pg_catalog.jsonb_agg(r), '[]'::jsonb)::text as r from (select r${
      from || " from (select) a"
    } cross join lateral ${call} r limit ${MAX_ROWS}) r`
    : sig.rettype === "void"
    ? `select ${call}, 'null' as r${from}`
    : `select pg_catalog.to_jsonb(${call})::text as r${from}`;
  // PostgREST: GET and HEAD are read-only, and so is POST to a STABLE or IMMUTABLE function.
  const readOnly = method === "GET" || method === "HEAD" || !sig.volatile;
  try {
    const rows = await runStatement<{ r: string | null }>(
      sql,
      caller,
      readOnly,
      query,
      sig.hoisted,
    );
    return new Response(rows[0].r ?? "null", {
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  } catch (e) {
    return failure(e, caller);
  }
}

function notFound(name: string, keys: string[]): Response {
  return jsonResponse(404, {
    code: "PGRST202",
    message: `Could not find the function public.${name}(${keys.join(", ")}) in the schema cache`,
    details: null,
    hint: null,
  });
}
