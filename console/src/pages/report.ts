/// <reference lib="dom" />
// The distribution report as a table per tokenization: the totals first (distributed, holdings,
// in flight, waiting, discrepancies), then one page of investors at a time through the RPC's
// cursor, filtered to discrepancies, to what waits, or to one investor (id or email), sorted by
// investor or by the largest amount of a column (the column headers are the sort buttons). At any
// number of holders the page reads one bounded page.
import { call, type RpcResult } from "../api.ts";
import type { Client } from "../client.ts";
import { errorBox, field, h } from "../dom.ts";
import { tokenCount } from "../alert-text.ts";

type Tokenization = RpcResult<"admin_tokenizations">[number];
type Page = RpcResult<"admin_distribution_report_page">;

const PAGE_SIZE = 100;

type Order = "investor" | "distributed" | "holdings" | "in_flight" | "waiting";
const COLUMNS: { label: string; order?: Order }[] = [
  { label: "Investor", order: "investor" },
  { label: "Distributed", order: "distributed" },
  { label: "Holdings", order: "holdings" },
  { label: "In flight", order: "in_flight" },
  { label: "Waiting", order: "waiting" },
  { label: "Books" },
];

/** An investor as an operator knows them: name and email, with the short id for support. */
export function investorCell(r: { user_id: string; email: string | null; name: string | null }) {
  const label = [r.name, r.email].filter(Boolean).join(", ");
  return h(
    "td",
    {},
    label ? `${label} ` : "",
    h("code", { title: r.user_id }, r.user_id.slice(0, 8)),
  );
}

export function reportSection(client: Client): HTMLElement {
  const picker = h("select", { "aria-label": "Tokenization" });
  const filter = h(
    "select",
    { "aria-label": "Show" },
    h("option", { value: "all" }, "all investors"),
    h("option", { value: "discrepancies" }, "discrepancies only"),
    h("option", { value: "waiting" }, "waiting only"),
  );
  const investor = field("Investor (id or email)");
  const totals = h("div");
  const table = h("div", { class: "table-wrap" });
  const pager = h("div");
  // The cursors of the pages seen, so "Previous" goes back exactly.
  let cursors: (string | null)[] = [null];
  let order: Order = "investor";

  async function load(at: number) {
    try {
      const page = await call(client, "admin_distribution_report_page", {
        p_tokenization_id: picker.value,
        p_limit: PAGE_SIZE,
        p_after: cursors[at] ?? undefined,
        p_filter: filter.value,
        p_investor: investor.input.value.trim() || undefined,
        p_order: order,
      });
      const t = page.totals;
      totals.replaceChildren(h(
        "dl",
        { class: "figures", "aria-label": "Totals" },
        ...([
          ["Distributed", `${tokenCount(t.distributed)} tokens`],
          ["Holdings", `${tokenCount(t.holdings)} tokens, ${tokenCount(t.holders)} holders`],
          ["In flight", `${tokenCount(t.in_flight)} tokens`],
          [
            "Waiting",
            `${tokenCount(t.waiting)} tokens in ${tokenCount(t.waiting_investments)} investments`,
          ],
          ["Discrepancies", String(t.discrepancies)],
        ] as const).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
      ));
      table.replaceChildren(
        page.rows.length === 0 ? h("p", {}, "No investor matches.") : h(
          "table",
          { "aria-label": "Distribution report" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...COLUMNS.map((c) =>
                c.order
                  ? h(
                    "th",
                    {
                      "aria-sort": c.order === order
                        ? (c.order === "investor" ? "ascending" : "descending")
                        : "none",
                    },
                    h("button", {
                      type: "button",
                      class: "sort",
                      "aria-label": `Sort by ${c.label.toLowerCase()}`,
                      onclick: () => {
                        order = c.order!;
                        restart();
                      },
                    }, c.label),
                  )
                  : h("th", {}, c.label)
              ),
            ),
          ),
          h(
            "tbody",
            {},
            ...page.rows.map((r) =>
              h(
                "tr",
                {},
                investorCell(r),
                h("td", {}, tokenCount(r.distributed)),
                h("td", {}, tokenCount(r.holdings)),
                h("td", {}, tokenCount(r.in_flight)),
                h("td", {}, tokenCount(r.waiting)),
                h("td", {}, r.discrepancy ? "discrepancy" : "agree"),
              )
            ),
          ),
        ),
      );
      cursors = cursors.slice(0, at + 1);
      if (page.next_after) cursors.push(page.next_after);
      const buttons: HTMLElement[] = [h("span", {}, `Page ${at + 1} `)];
      if (at > 0) {
        buttons.push(h("button", { type: "button", onclick: () => load(at - 1) }, "Previous page"));
      }
      if (page.next_after) {
        buttons.push(h("button", { type: "button", onclick: () => load(at + 1) }, "Next page"));
      }
      pager.replaceChildren(...buttons);
    } catch (e) {
      table.replaceChildren(errorBox(e as Error));
    }
  }

  const restart = () => {
    cursors = [null];
    load(0);
  };
  picker.addEventListener("change", restart);
  filter.addEventListener("change", restart);
  investor.input.addEventListener("change", restart);
  (async () => {
    try {
      const list = await call(client, "admin_tokenizations", {});
      picker.replaceChildren(
        ...list.map((t) =>
          h("option", { value: t.tokenization_id }, `${t.property_id} (chain ${t.chain_id})`)
        ),
      );
      if (list.length) restart();
      else table.replaceChildren(h("p", {}, "No tokenization registered."));
    } catch (e) {
      table.replaceChildren(errorBox(e as Error));
    }
  })();
  return h(
    "section",
    {},
    h("h2", {}, "Distribution report"),
    h("label", {}, "Tokenization ", picker),
    h("label", {}, "Show ", filter),
    investor.el,
    totals,
    table,
    pager,
  );
}
