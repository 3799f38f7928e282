// Regressions of the third attack round beyond the Auth endpoints (tests/auth-endpoints): one
// tokenization whose contract cannot be read beside a good one, EIP-55 checksums and precompiles
// as payout wallets, the API's body limit, and the console's redirect and framing headers.
import assert from "node:assert/strict";
import { Wallet } from "ethers";
import { db, rpcHttp, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  chargeSuccess,
  distribute,
  type Investment,
  newInvestor,
  onChain,
  sendWebhook,
  status,
} from "./_support/tokens.ts";

const sql = db();
const svc = (fn: string, body: unknown) => rpcHttp(fn, body, stack.service_role_key);

Deno.test("a tokenization at an address with no contract never stops distribution: the good one is paid, the bad one deferred and alerted", async () => {
  await autoDistribute(sql, false);
  const noContract = Wallet.createRandom().address.toLowerCase();
  const reg = await svc("admin_register_tokenization", {
    p_property_id: `typo-${crypto.randomUUID()}`,
    p_token_address: noContract,
    p_chain_id: stack.chain_id,
    p_price_per_token: 10,
  });
  assert.equal(reg.status, 200, JSON.stringify(reg.body));
  try {
    const good = await newInvestor(sql);
    const bad = await newInvestor(sql);
    const goodInv = (await rpcHttp("create_investment", {
      p_tokenization_id: stack.tokenization_id,
      p_tokens: 2,
    }, good.jwt)).body as Investment;
    const badInv = (await rpcHttp("create_investment", {
      p_tokenization_id: reg.body.tokenization_id,
      p_tokens: 3,
    }, bad.jwt)).body as Investment;
    await sendWebhook(chargeSuccess(goodInv));
    await sendWebhook(chargeSuccess(badInv));
    const run = await distribute({});
    assert.equal(
      run.status,
      200,
      `the run answers (was 502 "Cannot convert 0x to a BigInt"): ${JSON.stringify(run.body)}`,
    );
    assert.equal(await status(sql, goodInv.investment_id), "tokens_distributed");
    assert.equal(await onChain(good.wallet!), 2n, "the good tokenization's investor is paid");
    assert.equal(await status(sql, badInv.investment_id), "confirmed", "the bad one waits");
    const only = await distribute({ tokenization_id: reg.body.tokenization_id });
    assert.equal(only.body.claimed, 0);
    assert.equal(only.body.deferred_reason, "token_unreadable");
    assert.ok(only.body.deferred >= 1);
    const alerts = (await svc("admin_token_alerts", {})).body as Record<string, unknown>[];
    const alert = alerts.find((a) =>
      a.kind === "token_unreadable" && a.token_address === noContract
    );
    assert.ok(alert, JSON.stringify(alerts));
    assert.match(String(alert.error), /no contract/);
    assert.ok(alert.since);
  } finally {
    await sql`update app.investments set payment_status = 'failed'
               where tokenization_id = ${reg.body.tokenization_id} and payment_status = 'confirmed'`;
    await sql`delete from app.investments where tokenization_id = ${reg.body.tokenization_id}`;
    await sql`delete from app.tokenizations where id = ${reg.body.tokenization_id}`;
  }
});

Deno.test("wallets: EIP-55's own vectors pass, one flipped letter is PT400, all-lower and all-upper pass, precompiles are refused", async () => {
  // EIP-55's test addresses (all checksummed).
  const vectors = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
  ];
  for (const address of vectors) {
    const user = await newInvestor(sql, { wallet: false });
    const ok = await rpcHttp("set_my_wallet_address", { p_address: address }, user.jwt);
    assert.equal(ok.status, 200, `${address}: ${JSON.stringify(ok.body)}`);
    assert.equal(ok.body.wallet_address, address.toLowerCase());
    await sql`update app.profiles set wallet_address = null where user_id = ${user.id}`;
    // One letter's case flipped: the typo a checksum exists to catch.
    const i = address.search(/[a-fA-F]/);
    const c = address[i];
    const flipped = address.slice(0, i) +
      (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) +
      address.slice(i + 1);
    const bad = await rpcHttp("set_my_wallet_address", { p_address: flipped }, user.jwt);
    assert.equal(bad.status, 400, flipped);
    assert.equal(bad.body.code, "PT400");
    assert.match(bad.body.message, /EIP-55 checksum/);
    for (const plain of [address.toLowerCase(), "0x" + address.slice(2).toUpperCase()]) {
      const r = await rpcHttp("set_my_wallet_address", { p_address: plain }, user.jwt);
      assert.equal(r.status, 200, plain);
      await sql`update app.profiles set wallet_address = null where user_id = ${user.id}`;
    }
  }
  const user = await newInvestor(sql, { wallet: false });
  for (const n of ["01", "09", "0a", "11", "100", "ffff"]) {
    const precompile = "0x" + n.padStart(40, "0");
    const r = await rpcHttp("set_my_wallet_address", { p_address: precompile }, user.jwt);
    assert.equal(r.status, 400, precompile);
    assert.match(r.body.message, /precompile/);
  }
  const [{ wallet }] =
    await sql`select wallet_address as wallet from app.profiles where user_id = ${user.id}`;
  assert.equal(wallet, null);
});

/** Sends only the headers of a request declaring a 16 MB body, and reads what comes back
 * without sending a byte of it: an answer proves the body was never waited for. */
async function declareHugeBody(path: string): Promise<string> {
  const { port } = new URL(stack.api_url);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode(
      `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\napikey: ${stack.anon_key}\r\n` +
        `content-type: application/json\r\ncontent-length: ${16 * 1024 * 1024}\r\n\r\n{`,
    ));
    const buf = new Uint8Array(4096);
    // A gateway that waits for the body never answers: give up after 5 s (so the test fails on
    // such a gateway instead of hanging).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), 5_000))),
    ]);
    clearTimeout(timer);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

Deno.test("a 16 MB body to /rest/v1 or /auth/v1 is 413 before it is read, and health is answered meanwhile", async () => {
  for (const path of ["/rest/v1/rpc/health", "/auth/v1/token?grant_type=password"]) {
    const [answer, health] = await Promise.all([
      declareHugeBody(path),
      fetch(`${stack.api_url}/rest/v1/rpc/health`, { method: "POST" }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }),
    ]);
    assert.match(answer, /^HTTP\/1\.1 413/, `${path}: ${answer.slice(0, 80)}`);
    assert.equal(health, 200);
  }
  // A whole body over the limit, sent: 413 too.
  const big = await fetch(`${stack.api_url}/rest/v1/rpc/health`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: new Uint8Array(2 * 1024 * 1024).fill(0x20),
  });
  assert.equal(big.status, 413);
  await big.body?.cancel();
  // Without a Content-Length (chunked): read only up to the limit, then 413.
  let pulled = 0;
  const stream = new ReadableStream({
    pull(c) {
      pulled += 256 * 1024;
      if (pulled > 64 * 1024 * 1024) c.close();
      else c.enqueue(new Uint8Array(256 * 1024).fill(0x20));
    },
  });
  const chunked = await fetch(`${stack.api_url}/rest/v1/rpc/health`, {
    method: "POST",
    body: stream,
  })
    .catch((e) => e as Error);
  if (chunked instanceof Response) {
    assert.equal(chunked.status, 413);
    await chunked.body?.cancel();
  }
  assert.ok(pulled < 64 * 1024 * 1024, "the server stopped reading long before the end");
});

Deno.test("/console redirects to /console/; the console may not be framed and loads only its own files", async () => {
  const r = await fetch(`${stack.api_url}/console`, { redirect: "manual" });
  assert.equal(r.status, 301);
  assert.equal(r.headers.get("location"), "/console/");
  await r.body?.cancel();
  for (const path of ["/console/", "/console/app.js", "/console/nope"]) {
    const page = await fetch(`${stack.api_url}${path}`);
    assert.equal(page.headers.get("x-frame-options"), "DENY", path);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /default-src 'none'/);
    const text = await page.text();
    if (path === "/console/") assert.match(text, /http-equiv="Content-Security-Policy"/);
  }
  await sql.end();
});
