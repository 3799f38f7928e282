// The schema checks of npm test can fail: each one is shown a database or a migration with the
// kind of defect it exists to catch.
import assert from "node:assert/strict";
import postgres from "postgres";
import { advisors, schemaDiff, squawk } from "../local/db/checks.ts";
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

Deno.test("closing: stop the scratch clusters", async () => {
  await sqlB.end();
  await Promise.all([a.stop(), b.stop()]);
  const probe = postgres(a.url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  await assert.rejects(probe`select 1`, "the scratch cluster no longer runs");
  await probe.end();
});
