// The operator console in real Chromium (Debian's package, driven by playwright-core) against the
// real stack: sign in with password and TOTP; declare a two-slot day a minute ahead and watch both
// slots reach COMPLETED with their paid counts (the test calls execute_due_slots as pg_cron would:
// test stacks keep cron off); add two slots after completion; cancel one, retry one; an aal1
// admin is asked to verify before a change; a wrong code is refused. Then a pending slot edited
// (bad input refused on the page), the tokens and audit pages, and a non-admin who sees nothing.
// A screenshot of each step is kept in test-artifacts/console/.
import assert from "node:assert/strict";
import { refundEvent } from "./_support/paystack-events.ts";
import { EVERY_ALERT_KINDS, type EveryAlert, seedEveryAlert } from "./_support/every-alert.ts";
import { chromium, type Page } from "playwright-core";
import { ensureUser } from "../local/auth/api.ts";
import { codeAt, newSecret, stepAt } from "../local/auth/totp.ts";
import { dayInZone } from "../console/src/time.ts";
import { db, rpcHttp, stack } from "./_support/stack.ts";
import { usersWithStakes } from "./_support/users.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARTIFACTS = new URL("../test-artifacts/console/", import.meta.url).pathname;
const AXE_SOURCE = Deno.readTextFileSync(
  new URL("../node_modules/axe-core/axe.min.js", import.meta.url),
);
const sql = db();
let shot = 0;

async function snap(page: Page, name: string) {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({
    path: `${ARTIFACTS}${String(++shot).padStart(2, "0")}-${name}.png`,
    fullPage: true,
  });
}

/** "HH:MM" in Africa/Lagos, `minutes` from now (rounded up to the next whole minute). */
function lagosClock(minutes: number): { day: string; hhmm: string; at: Date } {
  const at = new Date(Math.ceil((Date.now() + minutes * 60_000) / 60_000) * 60_000);
  const hhmm = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Africa/Lagos",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(at);
  return { day: dayInZone(at), hhmm, at };
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto(stack.console_url);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Authentication code").waitFor();
}

async function fillSlotRows(page: Page, rows: { n: number; pct: string; hhmm: string }[]) {
  for (let i = 1; i < rows.length; i++) await page.getByRole("button", { name: "Add row" }).click();
  const numbers = page.getByLabel("Slot number");
  const pcts = page.getByLabel("ROS %", { exact: true });
  const times = page.getByLabel("Time", { exact: true });
  for (const [i, r] of rows.entries()) {
    await numbers.nth(i).fill(String(r.n));
    await pcts.nth(i).fill(r.pct);
    await times.nth(i).fill(r.hhmm);
  }
}

const slotRow = (page: Page, n: number) => page.locator("tr", { hasText: `Slot ${n}` }).first();

const noChromium = !(await Deno.stat(CHROMIUM).then(() => true, () => false));

/** A new admin with an authenticator, signed in to aal2 on `page`. */
async function signedInAdmin(page: Page) {
  const secret = newSecret();
  const email = `console-${crypto.randomUUID()}@test.io`;
  const password = "console-test-password";
  await ensureUser(sql, { email, password, appMetadata: { role: "admin" }, totpSecret: secret });
  await signIn(page, email, password);
  await page.getByLabel("Authentication code").fill(codeAt(secret, stepAt(Date.now())));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByText("verified (aal2)").waitFor();
  await rosDay(page);
}

/** axe-core (Deque's checker, from npm) run in the page for the given WCAG tags: the violations,
 * one line each. Evaluated through the debugger protocol: the console's CSP rightly refuses an
 * injected script tag. */
async function accessibilityViolations(page: Page, tags: string[]): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  return await page.evaluate(async (values) => {
    // deno-lint-ignore no-explicit-any
    const r = await (globalThis as any).axe.run(document, { runOnly: { type: "tag", values } });
    // deno-lint-ignore no-explicit-any
    return r.violations.map((v: any) => `${v.id}: ${v.nodes.length} (${v.help})`);
  }, tags);
}

/** The overview comes first after sign-in; the day's slots are on "ROS day". */
async function rosDay(page: Page) {
  await page.getByRole("button", { name: "ROS day", exact: true }).click();
  await page.getByLabel("Day").waitFor();
}

Deno.test({
  name:
    "the console: MFA sign-in, a two-slot day paid, slots added after completion, cancel, retry, aal1 refused",
  ignore: noChromium,
  fn: async () => {
    const secret = newSecret();
    const email = `console-${crypto.randomUUID()}@test.io`;
    const password = "console-test-password";
    await ensureUser(sql, { email, password, appMetadata: { role: "admin" }, totpSecret: secret });
    const first = lagosClock(0.6);
    if (first.day !== dayInZone(new Date(first.at.getTime() + 120_000))) {
      throw new Error("too close to midnight in Lagos for a same-day schedule: run again");
    }
    await usersWithStakes(sql, 3, {
      stake: "1000",
      createdAt: new Date(Date.now() - 60_000).toISOString(),
      tag: `console-${crypto.randomUUID()}`,
    });
    const base = 40 + Math.floor(Math.random() * 50);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage();

      // A wrong code is refused; the right one gives aal2.
      await signIn(page, email, password);
      await snap(page, "password-accepted");
      await page.getByLabel("Authentication code").fill(
        codeAt(secret, stepAt(Date.now())) === "000000" ? "111111" : "000000",
      );
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByRole("alert").getByText("Invalid TOTP code entered").waitFor();
      await snap(page, "wrong-code-refused");
      await page.getByLabel("Authentication code").fill(codeAt(secret, stepAt(Date.now())));
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByText("verified (aal2)").waitFor();
      await page.getByRole("heading", { name: "Open alerts" }).waitFor();
      await snap(page, "signed-in-aal2-overview");
      await rosDay(page);

      // Declare two slots a minute ahead, on today's business day.
      await page.getByLabel("Day").fill(first.day);
      await fillSlotRows(page, [
        { n: base, pct: "0.5", hhmm: first.hhmm },
        { n: base + 1, pct: "0.25", hhmm: first.hhmm },
      ]);
      await page.getByRole("button", { name: "Queue day" }).click();
      await slotRow(page, base).getByText("PENDING").waitFor();
      await slotRow(page, base + 1).getByText("PENDING").waitFor();
      await snap(page, "two-slots-pending");

      // pg_cron's minute: execute the due slots when their time comes; the page refreshes itself.
      await new Promise((r) => setTimeout(r, Math.max(0, first.at.getTime() - Date.now() + 1_000)));
      const ran = await rpcHttp("execute_due_slots", {}, stack.service_role_key);
      assert.equal(ran.status, 200, JSON.stringify(ran.body));
      for (const n of [base, base + 1]) {
        await slotRow(page, n).getByText("COMPLETED").waitFor({ timeout: 15_000 });
        const paid = await slotRow(page, n).locator("td").nth(6).textContent();
        assert.ok(Number(paid) >= 3, `slot ${n} paid ${paid} stakes`);
      }
      await snap(page, "both-completed");

      // Add two slots after completion (the seeds' 409 flow), later today.
      const later = lagosClock(30);
      await page.reload();
      await rosDay(page);
      await page.getByLabel("Day").fill(first.day);
      await fillSlotRows(page, [
        { n: base + 2, pct: "0.1", hhmm: later.hhmm },
        { n: base + 3, pct: "0.1", hhmm: later.hhmm },
      ]);
      await page.getByRole("button", { name: "Add slots" }).click();
      await slotRow(page, base + 3).getByText("PENDING").waitFor();
      await snap(page, "slots-added-after-completion");

      // Cancel one pending slot; retry a completed one (it pays nobody twice: 0 now).
      await slotRow(page, base + 3).getByRole("button", { name: "Cancel slot" }).click();
      await slotRow(page, base + 3).getByText("CANCELLED").waitFor();
      await slotRow(page, base).getByRole("button", { name: "Retry" }).click();
      await page.getByText(`Slot ${base} retried: 0 stakes paid now`).waitFor();
      await snap(page, "cancelled-and-retried");

      // An aal1 admin: sees the day, and is asked to verify before any change.
      const readOnly = await browser.newPage();
      await signIn(readOnly, email, password);
      await readOnly.getByRole("button", { name: "Continue read-only" }).click();
      await readOnly.getByText("read-only (aal1)").waitFor();
      await rosDay(readOnly);
      await readOnly.getByLabel("Day").fill(first.day);
      await slotRow(readOnly, base).getByText("COMPLETED").waitFor();
      await slotRow(readOnly, base).getByRole("button", { name: "Retry" }).click();
      await readOnly.getByText("Verify with your authenticator to make changes").waitFor();
      await snap(readOnly, "aal1-asked-to-verify");
      const [{ n }] = await sql`select count(*)::int as n from app.admin_audit
                                 where action = 'retry_slot' and actor_role = 'authenticated'
                                   and target ->> 'slot_number' = ${String(base)}`;
      assert.equal(n, 1, "only the aal2 retry happened");
    } finally {
      // Leave nothing pending for the tests that run due slots after this one.
      await rpcHttp("admin_cancel_slot", {
        p_distribution_date: first.day,
        p_slot_number: base + 2,
      }, stack.service_role_key);
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "the console: a pending slot edited (bad input refused before sending), the tokens and audit pages, a non-admin sees nothing",
  ignore: noChromium,
  fn: async () => {
    // A day far ahead, different on every run: nothing of it is ever due during the tests.
    const ahead = 100 + Math.floor(Math.random() * 900);
    const day = dayInZone(new Date(Date.now() + ahead * 86_400_000));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage();
      await signedInAdmin(page);
      await page.getByLabel("Day").fill(day);
      await fillSlotRows(page, [{ n: 7, pct: "0.5", hhmm: "10:00" }]);
      await page.getByRole("button", { name: "Queue day" }).click();
      await slotRow(page, 7).getByText("PENDING").waitFor();

      // Not a number: refused on the page, naming the field; nothing reaches the database.
      await page.getByLabel("ROS % of slot 7").fill("abc");
      await slotRow(page, 7).getByRole("button", { name: "Save" }).click();
      await page.getByRole("alert").getByText('ROS % of slot 7: "abc" is not a decimal number')
        .waitFor();
      await snap(page, "edit-refused-before-sending");
      const [before] = await sql`select ros_percentage::text as pct from app.ros_slots
                                  where distribution_date = ${day} and slot_number = 7`;
      assert.equal(before.pct, "0.5000");

      // A new percentage and time: saved exactly, shown in the business zone with its offset.
      await page.getByLabel("ROS % of slot 7").fill("0.7525");
      await page.getByLabel("Time of slot 7").fill("11:30");
      await slotRow(page, 7).getByRole("button", { name: "Save" }).click();
      await slotRow(page, 7).getByText("0.7525").waitFor();
      await slotRow(page, 7).getByText(`${day} 11:30:00 +01:00`).waitFor();
      await snap(page, "slot-edited");

      // Tokens: the report and the alerts render; a fee cap that is not a whole number of wei is
      // refused before anything is sent (the chain policy stays as it is).
      const stray = `STRAY-${crypto.randomUUID()}`;
      const recorded = await rpcHttp("record_paystack_event", {
        p_event: refundEvent("processed", { reference: stray, amount: 1000 }),
      }, stack.service_role_key);
      await page.getByRole("button", { name: "Tokens", exact: true }).click();
      await page.getByRole("heading", { name: "Distribution report" }).waitFor();
      await page.getByRole("heading", { name: "Token alerts" }).waitFor();
      await page.getByLabel("Max fee per gas (wei)").fill("1.5");
      await page.getByRole("button", { name: "Set chain policy" }).click();
      await page.getByRole("alert").getByText('Max fee per gas: "1.5" is not a whole number')
        .waitFor();
      await snap(page, "tokens-page");

      // A signed refund of a reference that is not ours: its alert, the stored event with its
      // reason, and dismissing it.
      const eventRow = page.locator("tr", { hasText: "paystack event unprocessable" })
        .filter({ hasText: stray });
      await eventRow.getByRole("button", { name: "Show event" }).click();
      await eventRow.getByText("could not be applied: no investment has this reference").waitFor();
      await eventRow.getByText("refund.processed (webhook): unknown_reference").waitFor();
      await snap(page, "paystack-event-shown");
      await eventRow.getByRole("button", { name: "Dismiss" }).click();
      await eventRow.waitFor({ state: "detached" });
      const [dismissed] = await sql`select dismissed_at from app.paystack_events
                                     where id = ${recorded.body.event_id}`;
      assert.ok(dismissed.dismissed_at, "dismissed in the database");

      // The alert log: what the alert job recorded, acknowledged from the page; a channel added
      // (its URL never shown back, only its host).
      await sql`select app.deliver_alerts()`;
      const [open] =
        await sql`select id from app.alerts where resolved_at is null and acknowledged_at is null
                                order by id limit 1`;
      await page.getByRole("button", { name: "History & alerts", exact: true }).click();
      await page.getByRole("heading", { name: "Alert log" }).waitFor();
      await page.getByRole("button", { name: `Acknowledge alert ${open.id}`, exact: true }).click();
      await page.getByText(`alert ${open.id} acknowledged: no more reminders`).waitFor();
      const [acked] = await sql`select acknowledged_at from app.alerts where id = ${open.id}`;
      assert.ok(acked.acknowledged_at, "acknowledged in the database");
      const channel = `console-${crypto.randomUUID().slice(0, 8)}`;
      await page.getByLabel("Channel name").fill(channel);
      await page.getByLabel("Channel URL").fill(
        "https://hooks.example.test/services/T0/B0/SECRETPATH",
      );
      await page.getByRole("button", { name: "Save channel" }).click();
      await page.getByText(`${channel}: slack to hooks.example.test`).waitFor();
      assert.equal(await page.getByText("SECRETPATH").count(), 0, "the URL's path is never shown");
      await snap(page, "alert-log-and-channels");
      await sql`update app.alert_channels set enabled = false where name = ${channel}`;

      // Audit: the edit, with the state before and after.
      await page.getByRole("button", { name: "Audit", exact: true }).click();
      const edit = page.locator("tr", { hasText: "update_slot" }).filter({ hasText: day }).first();
      await edit.waitFor();
      assert.match((await edit.textContent()) ?? "", /0\.7525/);
      await snap(page, "audit-page");

      // A signed-in user who is not an admin: nothing of the dashboard.
      const email = `investor-${crypto.randomUUID()}@test.io`;
      await ensureUser(sql, { email, password: "investor-password" });
      const investor = await browser.newPage();
      await investor.goto(stack.console_url);
      await investor.getByLabel("Email").fill(email);
      await investor.getByLabel("Password").fill("investor-password");
      await investor.getByRole("button", { name: "Sign in" }).click();
      await investor.getByText("This account is not an admin: there is nothing to show.").waitFor();
      assert.equal(await investor.getByRole("button", { name: "Tokens", exact: true }).count(), 0);
      assert.equal(await investor.getByLabel("Day").count(), 0);
      await snap(investor, "non-admin-sees-nothing");
    } finally {
      await rpcHttp(
        "admin_cancel_slot",
        { p_distribution_date: day, p_slot_number: 7 },
        stack
          .service_role_key,
      );
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "the console's overview: first after sign-in, its figures as the RPC says; every kind of token alert as a sentence; the report at 1,500 investors; no page scrolls sideways on a phone; no element shows JSON",
  ignore: noChromium,
  fn: async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    let seeded: EveryAlert | undefined;
    try {
      const page = await browser.newPage();
      await signedInAdmin(page);
      await page.getByRole("button", { name: "Overview", exact: true }).click();
      await page.getByRole("heading", { name: "Open alerts" }).waitFor();
      const o = (await rpcHttp("admin_overview", {}, stack.service_role_key)).body;
      await page.getByText(
        `${o.tokens.waiting_tokens} tokens in ${o.tokens.waiting_investments} investments`,
      ).waitFor();
      await page.getByText(`${o.tokens.in_flight} transfers`, { exact: true }).waitFor();
      for (const s of o.slots as { slot_number: number; status: string }[]) {
        await slotRow(page, s.slot_number).getByText(s.status).waitFor();
      }
      for (const a of o.alerts as { kind: string; count: number }[]) {
        await page.getByText(`${a.kind.replaceAll("_", " ")}: ${a.count}`).waitFor();
      }
      await page.getByRole("img", { name: /Last 30 days/ }).waitFor();
      await snap(page, "overview");

      // One alert of every kind on the tokens page, as sentences with their since and the
      // investor's name and email; the distribution report at 1,500 investors: totals first, 100
      // a page through the cursor, the discrepancies alone, sorted, one investor by email.
      seeded = await seedEveryAlert(sql, 1500);
      const every = seeded;
      await page.getByRole("button", { name: "Tokens", exact: true }).click();
      const alertTable = page.locator("section", {
        has: page.getByRole("heading", { name: "Token alerts" }),
      });
      for (const kind of EVERY_ALERT_KINDS) {
        const row = alertTable.locator("tbody tr", { hasText: kind.replaceAll("_", " ") }).first();
        await row.waitFor();
        const since = await row.locator("td").nth(1).innerText();
        assert.match(
          since,
          /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2}$/,
          `${kind}: since ${since}`,
        );
      }
      const named = `${every.named.name} <${every.named.email}>`;
      await alertTable.locator("tr", { hasText: "amount mismatch" }).filter({ hasText: named })
        .first().waitFor();
      await alertTable.getByText(/Chain \d+ asks 900 gwei per gas/).first().waitFor();
      await snap(page, "tokens-every-alert");

      await page.getByLabel("Tokenization").selectOption(every.reportTokenization);
      const totals = page.getByLabel("Totals");
      await totals.getByText("15,000 tokens", { exact: true }).waitFor();
      await totals.getByText("14,997 tokens, 1,500 holders").waitFor();
      const report = page.getByRole("table", { name: "Distribution report" });
      await page.getByText("Page 1", { exact: true }).waitFor();
      assert.equal(await report.locator("tbody tr").count(), 100, "a page of 100");
      await page.getByRole("button", { name: "Next page" }).click();
      await page.getByText("Page 2", { exact: true }).waitFor();
      assert.equal(await report.locator("tbody tr").count(), 100);
      // Sorted by holdings, the smallest last: the three who hold 9 are on the last page.
      await page.getByRole("button", { name: "Sort by holdings" }).click();
      await page.getByText("Page 1", { exact: true }).waitFor();
      assert.equal(
        await page.locator("th", { hasText: "Holdings" }).getAttribute("aria-sort"),
        "descending",
      );
      for (let p = 2; p <= 15; p++) {
        await page.getByRole("button", { name: "Next page" }).click();
        await page.getByText(`Page ${p}`, { exact: true }).waitFor();
      }
      assert.equal(await page.getByRole("button", { name: "Next page" }).count(), 0, "15 pages");
      const lastHoldings = await report.locator("tbody tr td:nth-child(3)").allInnerTexts();
      assert.deepEqual(lastHoldings.slice(-3), ["9", "9", "9"]);
      await page.getByLabel("Show").selectOption("discrepancies");
      await page.getByText("Page 1", { exact: true }).waitFor();
      await page.waitForFunction(() =>
        document.querySelectorAll('table[aria-label="Distribution report"] tbody tr').length === 3
      );
      assert.equal(await report.getByText("discrepancy", { exact: true }).count(), 3);
      await snap(page, "report-1500-discrepancies");
      const [one] =
        await sql`select email from auth.users u join app.token_holdings h on h.user_id = u.id
                               where h.tokenization_id = ${every.reportTokenization} and h.balance = 10
                               limit 1`;
      await page.getByLabel("Show").selectOption("all");
      await page.getByLabel("Investor (id or email)").fill(one.email.toUpperCase());
      await page.getByLabel("Investor (id or email)").press("Enter");
      await page.waitForFunction(() =>
        document.querySelectorAll('table[aria-label="Distribution report"] tbody tr').length === 1
      );
      await report.getByText(one.email).waitFor();
      await page.getByLabel("Investor (id or email)").fill("");
      await page.getByLabel("Investor (id or email)").press("Enter");

      // A laptop's width: WCAG 2.x A and AA (contrast included), on every page.
      for (const name of ["Overview", "ROS day", "History & alerts", "Tokens", "Audit"]) {
        await page.getByRole("button", { name, exact: true }).click();
        await page.waitForLoadState("networkidle");
        const violations = await accessibilityViolations(page, [
          "wcag2a",
          "wcag2aa",
          "wcag21a",
          "wcag21aa",
        ]);
        assert.deepEqual(violations, [], `${name} (desktop): accessibility`);
      }

      // A phone's width: nothing scrolls sideways, on any page.
      await page.setViewportSize({ width: 375, height: 800 });
      for (const name of ["Overview", "ROS day", "History & alerts", "Tokens", "Audit"]) {
        await page.getByRole("button", { name, exact: true }).click();
        await page.waitForLoadState("networkidle");
        const [scroll, width] = await page.evaluate(() => [
          document.documentElement.scrollWidth,
          document.documentElement.clientWidth,
        ]);
        assert.ok(scroll <= width, `${name}: ${scroll}px wide in a ${width}px viewport`);
        // No element shows JSON (a closed "details" disclosure keeps the raw record for support).
        const json = await page.evaluate(() =>
          [...document.querySelectorAll("main *")].filter((el) =>
            !el.closest("details:not([open]) > :not(summary)") && el.children.length === 0 &&
            /^\s*[\[{][\s\S]*[\]}]\s*$/.test((el as HTMLElement).innerText ?? "")
          ).map((el) => (el as HTMLElement).innerText.slice(0, 80))
        );
        assert.deepEqual(json, [], `${name}: no element whose text is JSON`);
        const violations = await accessibilityViolations(page, ["wcag2a", "wcag21a"]);
        assert.deepEqual(violations, [], `${name}: accessibility`);
        await snap(page, `narrow-${name.replaceAll(/\W+/g, "-").toLowerCase()}`);
      }
    } finally {
      await seeded?.cleanup();
      await browser.close();
      await sql.end();
    }
  },
});
