// The PostgREST subset the project needs: POST/GET /rest/v1/rpc/<fn> with named arguments, and
// GET /rest/v1/<view> with simple filters. One transaction per request, role and claims set
// transaction-locally exactly like PostgREST, so RLS, auth.uid() and grants behave as hosted.
import type postgres from "postgres";
import type { Caller } from "./auth.ts";
import { errorBody, httpStatusFor, jsonResponse, type PgError } from "./errors.ts";

type Sql = postgres.Sql;
type Signature = {
  names: string[];
  types: string[];
  required: number;
  retset: boolean;
  rettype: string;
};

const IDENT = /^[a-z_][a-z0-9_]*$/;

async function lookupFunction(sql: Sql, name: string): Promise<Signature[]> {
  const rows = await sql<
    {
      names: string[] | null;
      types: string[];
      nargs: number;
      ndefaults: number;
      retset: boolean;
      rettype: string;
    }[]
  >`
    select p.proargnames as names,
           array(select pg_catalog.format_type(t, null) from unnest(p.proargtypes) t) as types,
           p.pronargs as nargs, p.pronargdefaults as ndefaults, p.proretset as retset,
           pg_catalog.format_type(p.prorettype, null) as rettype
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' and p.proname = ${name} and p.prokind = 'f'`;
  return rows.map((r) => ({
    names: (r.names ?? []).slice(0, r.nargs),
    types: r.types,
    required: r.nargs - r.ndefaults,
    retset: r.retset,
    rettype: r.rettype,
  }));
}

function pick(sigs: Signature[], keys: string[]): Signature | undefined {
  return sigs.find((s) =>
    keys.every((k) => s.names.includes(k)) &&
    s.names.slice(0, s.required).every((n) => keys.includes(n))
  );
}

function toParam(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

async function inTransaction<T>(
  sql: Sql,
  caller: Caller,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', ${caller.role}, true),
                    set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true)`;
    return await fn(tx);
  }) as T;
}

function failure(e: unknown, caller: Caller): Response {
  const err = e as PgError;
  // No SQLSTATE: the connection itself failed (Postgres restarting). Like PostgREST, answer 503 so
  // the client knows the database was unavailable and may retry.
  if (!err.code || !/^[0-9A-Z]{5}$/.test(err.code)) {
    return jsonResponse(503, {
      code: "PGRST000",
      message: "database unavailable, retry",
      details: String(err.message ?? e),
      hint: null,
    });
  }
  return jsonResponse(httpStatusFor(err.code, caller.role), errorBody(err));
}

export async function callRpc(
  sql: Sql,
  caller: Caller,
  name: string,
  args: Record<string, unknown>,
): Promise<Response> {
  if (!IDENT.test(name)) return notFound(name, Object.keys(args));
  const keys = Object.keys(args);
  let sigs: Signature[];
  try {
    sigs = await lookupFunction(sql, name);
  } catch (e) {
    return failure(e, caller);
  }
  const sig = pick(sigs, keys);
  if (!sig) return notFound(name, keys);
  const types = keys.map((k) => sig.types[sig.names.indexOf(k)]);
  // json/jsonb and array parameters take the JSON value itself (postgres.js serialises by the
  // described parameter type); everything else goes through the type's text input, as PostgREST does.
  const params = keys.map((k, i) =>
    types[i] === "jsonb" || types[i] === "json" ||
      (types[i].endsWith("[]") && Array.isArray(args[k]))
      ? (args[k] ?? null)
      : toParam(args[k])
  );
  const named = keys.map((k, i) => `"${k}" => $${i + 1}::${types[i]}`);
  const call = `public."${name}"(${named.join(", ")})`;
  const query = sig.retset
    ? `select coalesce(jsonb_agg(r), '[]'::jsonb)::text as r from ${call} r`
    : sig.rettype === "void"
    ? `select ${call}, 'null' as r`
    : `select to_jsonb(${call})::text as r`;
  try {
    const rows = await inTransaction(
      sql,
      caller,
      (tx) => tx.unsafe(query, params as postgres.ParameterOrJSON<never>[]),
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

const OPS: Record<string, string> = { eq: "=", neq: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=" };

/** GET /rest/v1/<relation>?select=a,b&col=eq.v&order=col.desc&limit=n */
export async function selectRelation(
  sql: Sql,
  caller: Caller,
  name: string,
  query: URLSearchParams,
): Promise<Response> {
  if (!IDENT.test(name)) return jsonResponse(404, { code: "42P01", message: "no such relation" });
  const bad = (m: string) =>
    jsonResponse(400, { code: "PGRST100", message: m, details: null, hint: null });
  const select = query.get("select") ?? "*";
  const cols = select === "*" ? ["*"] : select.split(",").map((c) => c.trim());
  if (cols.some((c) => c !== "*" && !IDENT.test(c))) return bad(`unsupported select: ${select}`);
  const params: string[] = [];
  const where: string[] = [];
  let order = "";
  let limit = "";
  for (const [key, value] of query) {
    if (key === "select") continue;
    if (key === "order") {
      const parts = value.split(",").map((p) => p.split("."));
      if (parts.some(([c, d]) => !IDENT.test(c) || (d && d !== "asc" && d !== "desc"))) {
        return bad(`unsupported order: ${value}`);
      }
      order = " order by " + parts.map(([c, d]) => `"${c}" ${d ?? "asc"}`).join(", ");
      continue;
    }
    if (key === "limit" || key === "offset") {
      if (!/^\d+$/.test(value)) return bad(`bad ${key}`);
      limit += ` ${key} ${value}`;
      continue;
    }
    if (!IDENT.test(key)) return bad(`unsupported filter column: ${key}`);
    const dot = value.indexOf(".");
    const op = value.slice(0, dot);
    const operand = value.slice(dot + 1);
    if (op === "is" && (operand === "null" || operand === "true" || operand === "false")) {
      where.push(`"${key}" is ${operand}`);
    } else if (OPS[op]) {
      params.push(operand);
      where.push(`"${key}"::text ${OPS[op]} $${params.length}`);
    } else return bad(`unsupported operator: ${op}`);
  }
  const colList = cols.map((c) => (c === "*" ? "*" : `"${c}"`)).join(", ");
  const text = `select coalesce(jsonb_agg(t), '[]'::jsonb)::text as r from (select ${colList}
    from public."${name}"${where.length ? " where " + where.join(" and ") : ""}${order}${limit}) t`;
  try {
    const rows = await inTransaction(sql, caller, (tx) => tx.unsafe(text, params));
    return new Response(rows[0].r, {
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  } catch (e) {
    return failure(e, caller);
  }
}
