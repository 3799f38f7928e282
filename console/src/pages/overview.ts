/// <reference lib="dom" />
// The overview, first after sign-in: today's slots (each "Slot <n>" with its status word), the
// open alerts by kind, tokens distributed today and waiting, the last reconciliation run and its
// age, and the last 30 days of ROS payouts and token distributions as a small SVG chart.
import { call, type RpcResult } from "../api.ts";
import type { Client } from "../client.ts";
import { errorBox, h } from "../dom.ts";
import { formatInZone } from "../time.ts";

type Overview = RpcResult<"admin_overview">;

const SVG = "http://www.w3.org/2000/svg";
function svg(tag: string, attrs: Record<string, string | number>, ...children: (Node | string)[]) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Two bar series over the days, each scaled to its own maximum (money and tokens differ). */
function chart(daily: Overview["daily"]): Element {
  const w = 600, hgt = 120, bar = w / daily.length;
  const ros = daily.map((d) => Number(d.ros_paid)); // display only: the figures are shown exactly below
  const tok = daily.map((d) => Number(d.tokens_distributed));
  const maxR = Math.max(1, ...ros), maxT = Math.max(1, ...tok);
  return svg(
    "svg",
    {
      viewBox: `0 0 ${w} ${hgt * 2 + 20}`,
      role: "img",
      "aria-label": "Last 30 days: ROS paid and tokens distributed per day",
      class: "chart",
    },
    ...daily.flatMap((d, i) => [
      svg("rect", {
        x: i * bar + 1,
        y: hgt - (ros[i] / maxR) * hgt,
        width: bar - 2,
        height: (ros[i] / maxR) * hgt,
        class: "ros",
      }, svg("title", {}, `${d.day}: ROS paid ${d.ros_paid}`)),
      svg("rect", {
        x: i * bar + 1,
        y: 2 * hgt + 20 - (tok[i] / maxT) * hgt,
        width: bar - 2,
        height: (tok[i] / maxT) * hgt,
        class: "tokens",
      }, svg("title", {}, `${d.day}: ${d.tokens_distributed} tokens`)),
    ]),
    svg("text", { x: 4, y: 12 }, "ROS paid"),
    svg("text", { x: 4, y: hgt + 32 }, "Tokens distributed"),
  );
}

const age = (s: number | null) =>
  s === null
    ? "never"
    : s < 120
    ? `${s} s ago`
    : s < 7200
    ? `${Math.round(s / 60)} min ago`
    : `${Math.round(s / 3600)} h ago`;

export function overviewPage(client: Client): HTMLElement {
  const root = h("div", {}, h("p", {}, "Loading…"));
  (async () => {
    try {
      const o = await call(client, "admin_overview", {});
      root.replaceChildren(
        h(
          "section",
          {},
          h("h2", {}, `Today, ${o.today}`),
          o.slots.length === 0 ? h("p", {}, "No slots declared for today.") : h(
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
                  ...["Slot", "Status", "ROS %", "Scheduled", "Stakes paid", "Paid"].map((t) =>
                    h("th", {}, t)
                  ),
                ),
              ),
              h(
                "tbody",
                {},
                ...o.slots.map((s) =>
                  h(
                    "tr",
                    {},
                    h("td", {}, `Slot ${s.slot_number}`),
                    h("td", { class: `status ${s.status}` }, s.status),
                    h("td", {}, String(s.ros_percentage)),
                    h("td", {}, formatInZone(s.scheduled_for)),
                    h("td", {}, String(s.users_processed)),
                    h("td", {}, s.total_distributed),
                  )
                ),
              ),
            ),
          ),
        ),
        h(
          "section",
          {},
          h("h2", {}, "Open alerts"),
          o.alerts.length === 0 ? h("p", {}, "No open alerts.") : h(
            "ul",
            { "aria-label": "Open alerts by kind" },
            ...o.alerts.map((a) => h("li", {}, `${a.kind.replaceAll("_", " ")}: ${a.count}`)),
          ),
        ),
        h(
          "section",
          {},
          h("h2", {}, "Tokens"),
          h(
            "dl",
            { class: "figures" },
            h("dt", {}, "Distributed today"),
            h(
              "dd",
              {},
              `${o.tokens.distributed_today} tokens in ${o.tokens.transfers_today} transfers`,
            ),
            h("dt", {}, "Waiting"),
            h(
              "dd",
              {},
              `${o.tokens.waiting_tokens} tokens in ${o.tokens.waiting_investments} investments`,
            ),
            h("dt", {}, "In flight"),
            h("dd", {}, `${o.tokens.in_flight} transfers`),
            h("dt", {}, "Last reconciliation"),
            h(
              "dd",
              {},
              `${formatInZone(o.reconciliation.last_run_at)} (${
                age(o.reconciliation.age_seconds)
              })`,
            ),
          ),
        ),
        h("section", {}, h("h2", {}, "Last 30 days"), chart(o.daily)),
      );
    } catch (e) {
      root.replaceChildren(errorBox(e as Error));
    }
  })();
  return root;
}
