/// <reference lib="dom" />
// Tokens: the distribution report, token alerts with their actions (resolve an investment, decide
// KYC, acknowledge a reversal, read and dismiss a Paystack event that could not be applied), the
// chain policy.
import type { KycStatus } from "../../../supabase/functions/_shared/database.types.ts";
import { call, type RpcResult } from "../api.ts";
import type { Client } from "../client.ts";
import { errorBox, field, h } from "../dom.ts";
import { exact, wholeNumber, wholeText } from "../forms.ts";
import { changeButton } from "../session.ts";
import { formatInZone } from "../time.ts";
import { alertSentence, gwei, type Labels } from "../alert-text.ts";
import { peopleLabels } from "../people.ts";
import { reportSection } from "./report.ts";

type TokenAlert = RpcResult<"admin_token_alerts">[number];

/** The chain policy as saved: "Chain 31337: fees capped at 100 gwei per gas (tip 2 gwei), final
 * after 12 confirmations." */
function policySentence(r: RpcResult<"admin_set_chain_policy">): string {
  return `Chain ${r.chain_id}: fees capped at ${gwei(r.max_fee_per_gas)} per gas (tip ${
    gwei(r.max_priority_fee_per_gas)
  }), final after ${r.min_confirmations} confirmation(s).`;
}

export function tokensPage(client: Client): HTMLElement {
  const report = reportSection(client);
  const alerts = h("div");

  async function load() {
    try {
      const list = await call(client, "admin_token_alerts", {});
      const people = await peopleLabels(client, list.map((a) => a.user_id));
      alerts.replaceChildren(
        list.length === 0 ? h("p", {}, "No token alerts.") : h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ...["Alert", "Since", "What happened", "Action"].map((t) => h("th", {}, t)),
              ),
            ),
            h("tbody", {}, ...list.map((a) => alertRow(a, people))),
          ),
        ),
      );
    } catch (e) {
      alerts.replaceChildren(errorBox(e as Error));
    }
  }

  const mutate = (label: string, run: () => Promise<string>) => {
    const out = h("span");
    return [
      changeButton(client, label, out, async () => {
        const said = await run();
        await load();
        return said;
      }),
      out,
    ];
  };
  const resolve = (id: string, action: "accept" | "cancel" | "acknowledge") => async () => {
    await call(client, "admin_resolve_investment", {
      p_investment_id: id,
      p_action: action,
      p_note: "from the console",
    });
    return `${action}: done`;
  };

  // A stored Paystack event for support: its reason, then the payload and the body as signed.
  const showEvent = (eventId: number, into: HTMLElement) => async () => {
    try {
      const e = await call(client, "admin_paystack_event", { p_event_id: eventId });
      into.replaceChildren(
        h("p", {}, `${e.event_type} (${e.source}): ${e.outcome}${e.reason ? `, ${e.reason}` : ""}`),
        h(
          "details",
          {},
          h("summary", {}, "Payload and raw body"),
          h("pre", {}, h("code", {}, JSON.stringify(e.payload, null, 2))),
          h("pre", {}, h("code", {}, String(e.raw_body ?? ""))),
        ),
      );
    } catch (err) {
      into.replaceChildren(errorBox(err as Error));
    }
  };

  function alertRow(a: TokenAlert, people: Labels): HTMLElement {
    const action = h("td", {});
    const held = a.kind === "partial_refund" || a.kind === "refund_needs_attention";
    if ((a.kind === "amount_mismatch" || held) && a.investment_id) {
      action.append(
        ...mutate(
          a.kind === "partial_refund" ? "Accept (tokens for the money kept)" : "Accept",
          resolve(a.investment_id, "accept"),
        ),
        " ",
        ...mutate("Cancel", resolve(a.investment_id, "cancel")),
      );
    } else if (a.kind === "payment_unverified" && a.investment_id) {
      action.append(...mutate("Cancel", resolve(a.investment_id, "cancel")));
    } else if (a.kind === "paystack_event_unprocessable" && typeof a.event_id === "number") {
      const eventId = a.event_id;
      const shown = h("div");
      const show = h("button", { type: "button" }, "Show event");
      show.addEventListener("click", showEvent(eventId, shown));
      action.append(
        show,
        " ",
        ...mutate("Dismiss", async () => {
          await call(client, "admin_dismiss_paystack_event", {
            p_event_id: eventId,
            p_note: "from the console",
          });
          return "dismissed";
        }),
        shown,
      );
    } else if (a.kind.endsWith("_after_distribution") && a.investment_id) {
      action.append(...mutate("Acknowledge", resolve(a.investment_id, "acknowledge")));
    } else if (a.kind === "waiting_on_kyc" && a.user_id) {
      for (const decision of ["verified", "rejected"] satisfies KycStatus[]) {
        action.append(
          ...mutate(`KYC ${decision}`, async () => {
            await call(client, "admin_set_kyc_status", {
              p_user_id: a.user_id!,
              p_status: decision,
            });
            return `KYC ${decision}`;
          }),
          " ",
        );
      }
    } else if (a.hint) action.append(a.hint);
    const { kind: _k, since: _s, hint: _h, ...detail } = a;
    return h(
      "tr",
      {},
      h("td", {}, a.kind.replaceAll("_", " ")),
      h("td", {}, formatInZone(a.since ?? null)),
      h(
        "td",
        {},
        alertSentence(a, people),
        // The raw record, for support only.
        h(
          "details",
          {},
          h("summary", {}, "details"),
          h("pre", {}, JSON.stringify(detail, null, 2)),
        ),
      ),
      action,
    );
  }

  // The chain policy: the cap on fees and the depth that makes a transfer final.
  const chain = field("Chain id", { inputmode: "numeric", value: "31337" });
  const maxFee = field("Max fee per gas (wei)", { inputmode: "numeric" });
  const maxTip = field("Max priority fee per gas (wei)", { inputmode: "numeric" });
  const depth = field("Min confirmations", { inputmode: "numeric" });
  const [setPolicy, policyOut] = mutate("Set chain policy", async () => {
    const r = await call(client, "admin_set_chain_policy", {
      p_chain_id: wholeNumber(chain.input.value, "Chain id"),
      p_max_fee_per_gas: maxFee.input.value
        ? exact(wholeText(maxFee.input.value, "Max fee per gas"))
        : undefined,
      p_max_priority_fee_per_gas: maxTip.input.value
        ? exact(wholeText(maxTip.input.value, "Max priority fee per gas"))
        : undefined,
      p_min_confirmations: depth.input.value
        ? wholeNumber(depth.input.value, "Min confirmations")
        : undefined,
    });
    return policySentence(r);
  });

  const inv = field("Investment id");
  const note = field("Note");
  const resolveOut = h("span");
  const resolveButtons = (["accept", "cancel", "acknowledge"] as const).map((action) =>
    changeButton(client, `Resolve: ${action}`, resolveOut, async () => {
      await call(client, "admin_resolve_investment", {
        p_investment_id: inv.input.value.trim(),
        p_action: action,
        p_note: note.input.value || undefined,
      });
      await load();
      return `${action}: done`;
    })
  );

  load();
  return h(
    "div",
    {},
    h("section", {}, h("h2", {}, "Token alerts"), alerts),
    report,
    h(
      "section",
      {},
      h("h2", {}, "Chain policy"),
      chain.el,
      maxFee.el,
      maxTip.el,
      depth.el,
      setPolicy,
      policyOut,
    ),
    h(
      "section",
      {},
      h("h2", {}, "Resolve an investment"),
      inv.el,
      note.el,
      ...resolveButtons,
      resolveOut,
    ),
  );
}
