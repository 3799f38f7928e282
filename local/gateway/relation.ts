// PostgREST's read of a table or view: GET /rest/v1/<relation>?select=a,b&col=op.value&order=…
// &limit=n&offset=n. Columns and filters are checked against the catalog first, so a bad query is
// a 400 (as PostgREST answers it), never a 500.
import type postgres from "postgres";
import type { Caller } from "./auth.ts";
import { jsonResponse } from "./errors.ts";
import { failure } from "./failure.ts";
import { catalogRead, literal, runStatement } from "./transaction.ts";
import { MAX_ROWS } from "./limits.ts";

type Sql = postgres.Sql;

const IDENT = /^[a-z_][a-z0-9_]*$/;
const OPS: Record<string, string> = {
  eq: "=",
  neq: "<>",
  gt: ">",
  gte: ">=",
  lt: "<",
  lte: "<=",
  like: "like",
  ilike: "ilike",
};

function bad(message: string, details: string | null = null): Response {
  return jsonResponse(400, { code: "PGRST100", message, details, hint: null });
}

async function columnsOf(sql: Sql, name: string): Promise<Map<string, string> | null> {
  const rows = await catalogRead(() =>
    sql<{ col: string; type: string }[]>`
    select a.attname as col, pg_catalog.format_type(a.atttypid, a.atttypmod) as type
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     where n.nspname = 'public' and c.relname = ${name} and c.relkind in ('r', 'v', 'm', 'p')`
  );
  return rows.length ? new Map(rows.map((r) => [r.col, r.type])) : null;
}

export async function selectRelation(
  sql: Sql,
  caller: Caller,
  name: string,
  query: URLSearchParams,
): Promise<Response> {
  let columns: Map<string, string> | null;
  try {
    columns = IDENT.test(name) ? await columnsOf(sql, name) : null;
  } catch (e) {
    return failure(e, caller);
  }
  if (!columns) {
    return jsonResponse(404, {
      code: "PGRST205",
      message: `Could not find the table 'public.${name}' in the schema cache`,
      details: null,
      hint: null,
    });
  }
  const known = (c: string) => columns.has(c);
  const unknownColumn = (c: string) =>
    jsonResponse(400, {
      code: "42703",
      message: `column ${name}.${c} does not exist`,
      details: null,
      hint: null,
    });
  const seen = new Set<string>();
  const where: string[] = [];
  let select = ["*"];
  let order = "";
  let limit = "";
  // literal() refuses a NUL character (22021), as Postgres refuses it in a parameter.
  try {
    for (const [key, value] of query) {
      if (["select", "order", "limit", "offset"].includes(key)) {
        if (seen.has(key)) return bad(`"${key}" is given more than once`);
        seen.add(key);
      }
      if (key === "select") {
        select = value.split(",").map((c) => c.trim());
        const wrong = select.find((c) => c !== "*" && !known(c));
        if (wrong !== undefined) return unknownColumn(wrong);
        continue;
      }
      if (key === "order") {
        const terms: string[] = [];
        for (const term of value.split(",")) {
          const [c, ...mods] = term.split(".");
          if (!known(c)) return unknownColumn(c);
          const dir = mods.find((m) => m === "asc" || m === "desc") ?? "asc";
          const nulls = mods.find((m) => m === "nullsfirst" || m === "nullslast");
          if (mods.some((m) => !["asc", "desc", "nullsfirst", "nullslast"].includes(m))) {
            return bad(`"failed to parse order (${value})"`);
          }
          terms.push(
            `"${c}" ${dir}${
              nulls ? (nulls === "nullsfirst" ? " nulls first" : " nulls last") : ""
            }`,
          );
        }
        order = " order by " + terms.join(", ");
        continue;
      }
      if (key === "limit" || key === "offset") {
        if (!/^\d{1,18}$/.test(value)) return bad(`"failed to parse ${key} (${value})"`);
        limit += ` ${key} ${key === "limit" ? Math.min(Number(value), MAX_ROWS) : value}`;
        continue;
      }
      if (!known(key)) return unknownColumn(key);
      const m = /^(not\.)?([a-z]+)\.(.*)$/s.exec(value);
      if (!m) return bad(`"failed to parse filter (${value})"`, `${key}=${value}`);
      const [, not, op, operand] = m;
      const col = `"${key}"`;
      const type = columns.get(key)!;
      let clause: string;
      if (op === "is") {
        if (!["null", "true", "false", "unknown"].includes(operand)) {
          return bad(`"failed to parse filter (${value})"`, `${key}=${value}`);
        }
        clause = `${col} is ${operand}`;
      } else if (op === "in") {
        const list = /^\((.*)\)$/s.exec(operand);
        if (!list) return bad(`"failed to parse filter (${value})"`, `${key}=${value}`);
        const items = list[1] === "" ? [] : list[1].split(",").map((s) => s.replace(/^"|"$/g, ""));
        const refs = items.map((v) => `${literal(v)}::text::${type}`);
        clause = refs.length ? `${col} in (${refs.join(", ")})` : "false";
      } else if (op === "like" || op === "ilike") {
        clause = `${col}::text ${OPS[op]} ${literal(operand.replaceAll("*", "%"))}::text`;
      } else if (OPS[op]) {
        clause = `${col} ${OPS[op]} ${literal(operand)}::text::${type}`;
      } else {
        return bad(`"failed to parse filter (${value})"`, `unknown operator ${op}`);
      }
      where.push(not ? `not (${clause})` : clause);
    }
  } catch (e) {
    return failure(e, caller);
  }
  const colList = select.map((c) => (c === "*" ? "*" : `"${c}"`)).join(", ");
  // PostgREST's max_rows: at most MAX_ROWS rows, whatever limit the request asks for.
  const text = `select coalesce(jsonb_agg(t), '[]'::jsonb)::text as r from (select ${colList}
    from public."${name}"${where.length ? " where " + where.join(" and ") : ""}${order}${limit}
    ${limit.includes("limit") ? "" : ` limit ${MAX_ROWS}`}) t`;
  try {
    const rows = await runStatement<{ r: string }>(sql, caller, true, text);
    return new Response(rows[0].r, {
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  } catch (e) {
    return failure(e, caller);
  }
}
