// Property-based input test (issue 9): every public RPC, through the gateway with supabase-js,
// gets random and hostile JSON at its parameters. One parameter per case is certainly invalid
// for its declared type (a NUL character in text or JSON, NaN in a whole number, an impossible
// date...); the others are any JSON at all. The RPC must answer a 4xx with a message, never a 5xx,
// and no row may change anywhere (a fingerprint of every table before and after).
//
// RPC_PROPERTY_RUNS sets the cases per RPC (npm test: 30; `RPC_PROPERTY_RUNS=200` for the README
// figure); RPC_PROPERTY_SEED replays a run. A failure prints its seed and counterexample.
import assert from "node:assert/strict";
import fc from "fast-check";
import { db, stack, untypedClient as client, userJwt } from "./_support/stack.ts";
import { newInvestor } from "./_support/tokens.ts";

const runs = Number(Deno.env.get("RPC_PROPERTY_RUNS") ?? "30");
const seedEnv = Deno.env.get("RPC_PROPERTY_SEED");
const sql = db();

type Rpc = { name: string; params: { name: string; type: string }[] };

// Functions that only a signed-in user can call; every other RPC is called as the service (or
// admin: the service passes every admin gate), so validation, not authorization, answers.
const USER_RPCS = new Set([
  "create_stake",
  "set_my_wallet_address",
  "create_investment",
  "my_today_profit",
]);

const rpcs: Rpc[] = (await sql<{ name: string; names: string[] | null; types: string[] }[]>`
  select p.proname as name, p.proargnames[1:p.pronargs] as names,
         array(select pg_catalog.format_type(t, null) from unnest(p.proargtypes) t) as types
    from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and p.prokind = 'f' and p.pronargs > 0
     and p.proname not like 'zz\\_%'
     and has_function_privilege('service_role', p.oid, 'execute')
         or (n.nspname = 'public' and p.proname = any(${[...USER_RPCS]}))
   order by 1`).map((r) => ({
  name: r.name,
  params: (r.names ?? []).map((n, i) => ({ name: n, type: r.types[i] })),
}));

const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string(),
    fc.uuid(),
    fc.constantFrom("NaN", "Infinity", "-Infinity", "", "2031-02-30", "0x", "1e400", "-1"),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie("value"), { maxKeys: 3 }),
  ),
})).value;

const withNul = fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`);
// Postgres' date and interval input skip brackets, so a one-element array can parse ('[0]' is
// an interval): only longer arrays and objects are certainly not a scalar.
const notJsonScalar = fc.oneof(
  fc.array(json, { minLength: 2, maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1 }), json, { minKeys: 1, maxKeys: 2 }),
);

/** A value Postgres or the RPC's validation must refuse for this parameter type. */
function invalidFor(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case "text":
      return withNul;
    case "jsonb":
    case "json":
      return fc.oneof(withNul, fc.array(withNul, { minLength: 1, maxLength: 2 }));
    case "uuid":
      return fc.oneof(
        fc.string().filter((s) => !/^[0-9a-f-]{32,36}$/i.test(s)),
        fc.integer(),
        fc.boolean(),
        notJsonScalar,
      );
    // Postgres' date and time input is lenient (it skips brackets and reads digit runs as dates),
    // so only values that are certainly not a time are used here.
    case "date":
      return fc.oneof(
        fc.constantFrom("2031-02-30", "2031-13-01", "yesterday-ish", "20310101T", "", {
          when: "soon",
        }),
        fc.boolean(),
      );
    case "timestamp with time zone":
      return fc.oneof(
        fc.constantFrom("2031-02-30T10:00:00", "25:00", "soon", "2031-01-01T99:00", {
          at: "noon",
        }),
        fc.boolean(),
      );
    case "numeric":
      return fc.oneof(
        fc.constantFrom("NaN", "Infinity", "-Infinity", "abc", "1..2"),
        fc.boolean(),
        notJsonScalar,
      );
    case "integer":
    case "bigint":
      return fc.oneof(
        fc.constantFrom(1.5, "NaN", "1e30", 1e30, "12x"),
        fc.double({ min: 0.1, max: 0.9, noNaN: true }),
        fc.boolean(),
        notJsonScalar,
      );
    case "boolean":
      return fc.oneof(fc.constantFrom("maybe", 2, "yes please", -1), notJsonScalar);
    case "interval":
      return fc.oneof(
        fc.constantFrom("forever", "1 fortnight", "NaN", { every: "day" }),
        fc.boolean(),
      );
    case "uuid[]":
      return fc.oneof(
        fc.array(fc.string({ minLength: 1 }).filter((s) => s.length !== 36), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.boolean(),
        fc.integer(),
      );
    default:
      throw new Error(`no invalid generator for type ${type}: add one`);
  }
}

/** Rows of every table of the project: count and newest row version, so any insert, update or
 * delete shows. */
async function fingerprint(): Promise<string> {
  const tables = await sql<{ t: string }[]>`
    select format('%I.%I', n.nspname, c.relname) as t
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p') and n.nspname in ('app', 'public', 'auth', 'vault', 'net')
     order by 1`;
  const parts = await Promise.all(tables.map(async ({ t }) => {
    const [r] = await sql.unsafe(
      `select count(*)::text as n, coalesce(max(xmin::text::bigint), 0)::text as x from ${t}`,
    );
    return `${t}:${r.n}:${r.x}`;
  }));
  return parts.join("|");
}

const investor = await newInvestor(sql);
const service = client(stack.service_role_key);
const user = client(userJwt(investor.id));

for (const fn of rpcs) {
  Deno.test(`${fn.name}: hostile input is a 4xx with a message and changes nothing`, async () => {
    const caller = USER_RPCS.has(fn.name) ? user : service;
    const before = await fingerprint();
    const args = fc.integer({ min: 0, max: fn.params.length - 1 }).chain((bad) =>
      fc.tuple(...fn.params.map((p, i) => (i === bad ? invalidFor(p.type) : json)))
        .map((values) => Object.fromEntries(fn.params.map((p, i) => [p.name, values[i]])))
    );
    const result = await fc.check(
      fc.asyncProperty(args, async (a) => {
        const { error, status } = await caller.rpc(fn.name, a);
        return status >= 400 && status < 500 && typeof error?.message === "string" &&
          error.message.length > 0;
      }),
      { numRuns: runs, seed: seedEnv ? Number(seedEnv) : undefined },
    );
    if (result.failed) {
      const { status, error } = await caller.rpc(fn.name, result.counterexample![0]);
      assert.fail(
        `${fn.name}: seed ${result.seed}, counterexample ${
          JSON.stringify(result.counterexample)
        } answered ${status} ${JSON.stringify(error)}`,
      );
    }
    assert.equal(await fingerprint(), before, `${fn.name} changed a row (seed ${result.seed})`);
  });
}

Deno.test("closing: the property test covered every RPC the service or a user can call", () => {
  for (const name of ["admin_queue_distribution", "record_paystack_event", "create_stake"]) {
    assert.ok(rpcs.some((r) => r.name === name), name);
  }
  return sql.end();
});
