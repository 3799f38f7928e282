import assert from "node:assert/strict";
import { REQUEST_LIMIT_MS, requestSettings, timeoutMs } from "./limits.ts";

Deno.test("statement_timeout settings read in Postgres' units", () => {
  assert.equal(timeoutMs("8s"), 8000);
  assert.equal(timeoutMs("2min"), 120_000);
  assert.equal(timeoutMs("1500"), 1500);
  assert.equal(timeoutMs("250ms"), 250);
  assert.equal(timeoutMs("0"), 0);
  assert.equal(timeoutMs("soon"), null);
});

Deno.test("the role's own timeout overrides the authenticator's, a hoisted one overrides both", () => {
  const auth: [string, string][] = [["statement_timeout", "8s"], ["lock_timeout", "8s"]];
  const get = (s: [string, string][], k: string) => s.filter(([n]) => n === k).pop()?.[1];
  assert.equal(
    get(requestSettings(auth, [["statement_timeout", "3s"]], []), "statement_timeout"),
    "3000ms",
  );
  assert.equal(
    get(requestSettings(auth, [], []), "statement_timeout"),
    "8000ms",
    "service requests: 8 s",
  );
  assert.equal(
    get(
      requestSettings(auth, [["statement_timeout", "3s"]], [["statement_timeout", "1s"]]),
      "statement_timeout",
    ),
    "1000ms",
  );
  assert.equal(get(requestSettings(auth, [], []), "lock_timeout"), "8s");
});

Deno.test("no request runs past 60 s: a longer, unreadable or disabled timeout is cut to 60 s", () => {
  for (const t of ["5min", "0", "forever"]) {
    const s = requestSettings([], [], [["statement_timeout", t]]);
    assert.equal(
      s.filter(([k]) => k === "statement_timeout").pop()?.[1],
      `${REQUEST_LIMIT_MS}ms`,
      t,
    );
  }
});
