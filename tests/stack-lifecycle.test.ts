// The local stack itself: the descriptor has every contract key, data survives a restart, and
// stopping it leaves no process behind.
import assert from "node:assert/strict";
import postgres from "postgres";
import { startEphemeralStack } from "../local/ephemeral.ts";
import { JsonRpc } from "../supabase/functions/_shared/json-rpc.ts";

const KEYS = [
  "api_url",
  "db_url",
  "chain_rpc_url",
  "chain_id",
  "anon_key",
  "service_role_key",
  "jwt_secret",
  "paystack_secret_key",
  "paystack_api_url",
  "treasury_address",
  "treasury_private_key",
  "token_address",
  "tokenization_id",
];

async function processesUsing(dir: string): Promise<string[]> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid,args"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
    l.includes(dir) && !l.includes("ps -eo")
  );
}

Deno.test("a second stack starts, keeps its data across a restart, and stops cleanly", async () => {
  const first = await startEphemeralStack({}, { keepDir: true });
  const dir = first.dir;
  let nonceBefore = "";
  try {
    for (const k of KEYS) {
      assert.ok(first.info[k as keyof typeof first.info] !== undefined, `stack.json has ${k}`);
    }
    const health = await fetch(`${first.info.api_url}/rest/v1/rpc/health`, { method: "POST" });
    assert.equal((await health.json()).ok, true);
    const sql = postgres(first.info.db_url, { max: 1, onnotice: () => {} });
    await sql`insert into auth.users (email) values ('survives-restart@test.io')`;
    await sql.end();
    // One more treasury transaction, so the restarted chain must remember it (nonce 2, not 1).
    const chain = new JsonRpc(first.info.chain_rpc_url);
    await chain.call("anvil_setAutomine", [true]).catch(() => {});
    const hash = await chain.call<string>("eth_sendTransaction", [{
      from: first.info.treasury_address,
      to: first.info.treasury_address,
      value: "0x0",
    }]);
    // The answer can come before the block: read the nonce only once the receipt exists.
    for (let i = 0; i < 100; i++) {
      if (await chain.call("eth_getTransactionReceipt", [hash])) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    nonceBefore = await chain.call<string>("eth_getTransactionCount", [
      first.info.treasury_address,
      "latest",
    ]);
    assert.equal(nonceBefore, "0x2", "the deployment and this transfer are both mined");
    await first.stop();
    assert.deepEqual(await processesUsing(dir), [], "nothing left running after SIGTERM");

    const second = await startEphemeralStack({}, { dir, keepDir: true });
    try {
      const after = await new JsonRpc(second.info.chain_rpc_url).call<string>(
        "eth_getTransactionCount",
        [
          second.info.treasury_address,
          "latest",
        ],
      );
      assert.equal(after, nonceBefore, "the chain state survived");
      assert.equal(second.info.token_address, first.info.token_address);
      assert.equal(second.info.tokenization_id, first.info.tokenization_id);
      const sql2 = postgres(second.info.db_url, { max: 1, onnotice: () => {} });
      const rows = await sql2`select 1 from auth.users where email = 'survives-restart@test.io'`;
      // Deny by default survives the restart: a function a later migration creates in public is
      // not the API roles' (the compat script once granted them all again on every start).
      const acl = await sql2`select count(*)::int as n from pg_default_acl d
        join pg_namespace n on n.oid = d.defaclnamespace
       where n.nspname = 'public' and d.defaclobjtype = 'f'
         and exists (select 1 from aclexplode(d.defaclacl) a join pg_roles r on r.oid = a.grantee
                      where r.rolname in ('anon', 'authenticated'))`;
      await sql2.end();
      assert.equal(rows.length, 1, "the database survived");
      assert.equal(acl[0].n, 0, "no default grant of new functions to anon or authenticated");
    } finally {
      await second.stop();
    }
    assert.deepEqual(await processesUsing(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
