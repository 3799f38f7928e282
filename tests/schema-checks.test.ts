// The schema checks of npm test can fail: each one is shown a database or a migration with the
// kind of defect it exists to catch.
import assert from "node:assert/strict";
import postgres from "postgres";
import { advisors, lint, schemaDiff, squawk } from "../local/db/checks.ts";
import { referenceDataDiffers } from "../local/db/reference-data.ts";
import { clusterFromSchemas } from "../local/db/scratch.ts";

const [a, b] = await Promise.all([clusterFromSchemas(), clusterFromSchemas()]);
const sqlB = postgres(b.url, { max: 1, onnotice: () => {} });

Deno.test("two databases from the same schemas agree; the check sees an object that drifted", async () => {
  assert.equal(await schemaDiff(a.url, b.url), "");
  await sqlB`comment on function public.health() is 'drifted'`;
  assert.match(await schemaDiff(a.url, b.url), /COMMENT ON FUNCTION "public"."health"\(\)/);
  await sqlB`comment on function public.health() is null`;
});

Deno.test("reference rows a schema diff cannot see are compared too", async () => {
  assert.deepEqual(await referenceDataDiffers(a.url, b.url), []);
  await sqlB`update app.settings set value = '7' where key = 'ros_slots_per_pass'`;
  assert.deepEqual(await referenceDataDiffers(a.url, b.url), ["settings"]);
});

Deno.test("the advisors check fails on an owner-rights view over a private table", async () => {
  assert.equal(await advisors(a.url), null, "the schemas themselves are clean");
  await sqlB`create view public.zz_everyones_wallets as select kind, balance from app.accounts`;
  await sqlB`grant select on public.zz_everyones_wallets to authenticated`;
  assert.match(await advisors(b.url) ?? "", /ERROR security_definer_view/);
});

Deno.test("the lint check fails on a plpgsql warning", async () => {
  assert.equal(await lint(a.url, a.adminUrl), null, "the schemas themselves lint clean");
  await sqlB`create function app.zz_sloppy() returns int language plpgsql as $$
    declare v_unused int; begin return 1; end $$`;
  await assert.rejects(lint(b.url, b.adminUrl), /v_unused/);
});

Deno.test("squawk refuses a migration that blocks writes to a live table", async () => {
  const dir = await Deno.makeTempDir();
  const bad = `${dir}/20991231000000_bad.sql`;
  await Deno.writeTextFile(bad, "create index stakes_by_amount on app.stakes (amount);\n");
  await assert.rejects(squawk([bad]), /require-concurrent-index-creation/);
  const fine = `${dir}/20991231000001_fine.sql`;
  await Deno.writeTextFile(fine, "alter table app.stakes add column note text;\n");
  assert.equal(await squawk([fine]), null);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the generated types make deno check fail on a renamed RPC or parameter", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const check = async (body: string) => {
    const file = `${root}tests/.typecheck-${crypto.randomUUID()}.ts`;
    await Deno.writeTextFile(
      file,
      `import { rpc } from "../supabase/functions/_shared/supabase.ts";\n${body}\n`,
    );
    try {
      const out = await new Deno.Command(`${root}node_modules/.bin/deno`, {
        args: ["check", file],
        cwd: root,
        env: { NO_COLOR: "1" },
      }).output();
      return { ok: out.success, text: new TextDecoder().decode(out.stderr) };
    } finally {
      await Deno.remove(file);
    }
  };
  const good = await check(
    `await rpc("claim_token_distributions", { p_worker: "w", p_signer: "0x", p_chain_id: 1, p_chain_nonce: 0 });`,
  );
  assert.equal(good.ok, true, good.text);
  const renamedParam = await check(
    `await rpc("claim_token_distributions", { p_workr: "w", p_signer: "0x", p_chain_id: 1, p_chain_nonce: 0 });`,
  );
  assert.equal(renamedParam.ok, false);
  assert.match(renamedParam.text, /p_workr/);
  const renamedRpc = await check(`await rpc("claim_token_distribution", {});`);
  assert.equal(renamedRpc.ok, false);
  assert.match(renamedRpc.text, /claim_token_distribution/);
});

Deno.test("closing: stop the scratch clusters", async () => {
  await sqlB.end();
  await Promise.all([a.stop(), b.stop()]);
  const probe = postgres(a.url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  await assert.rejects(probe`select 1`, "the scratch cluster no longer runs");
  await probe.end();
});
