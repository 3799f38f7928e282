/// <reference lib="dom" />
// ROS history and alerts: past days with their derived status, every ROS alert with its detail
// and the action that resolves it (a retry, which pays only what is missing), then the alert log
// and channels (alert-log.ts).
import { call, retrySlot, type RpcResult } from "../api.ts";
import type { Client } from "../client.ts";
import { errorBox, h } from "../dom.ts";
import { changeButton } from "../session.ts";
import { dayInZone } from "../time.ts";
import { alertLogSection } from "./alert-log.ts";
import { rosAlertSentence } from "../alert-text.ts";

type RosAlert = RpcResult<"admin_ros_alerts">[number];

export function alertsPage(client: Client): HTMLElement {
  const today = dayInZone(new Date());
  const from = h("input", {
    type: "date",
    value: dayInZone(new Date(Date.now() - 14 * 86_400_000)),
    "aria-label": "From",
  });
  const to = h("input", { type: "date", value: today, "aria-label": "To" });
  const history = h("div");
  const alerts = h("div");

  async function load() {
    try {
      const days = await call(client, "admin_distribution_history", {
        p_from: from.value,
        p_to: to.value,
      });
      history.replaceChildren(h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Day", "Status", "Slots", "ROS %", "Distributed"].map((t) => h("th", {}, t)),
          ),
        ),
        h(
          "tbody",
          {},
          ...days.map((d) =>
            h(
              "tr",
              {},
              h("td", {}, d.distribution_date),
              h("td", { class: `status ${d.status}` }, d.status),
              h("td", {}, String(d.slots.length)),
              h("td", {}, String(d.total_ros_percentage)),
              h("td", {}, String(d.total_distributed)),
            )
          ),
        ),
      ));
    } catch (e) {
      history.replaceChildren(errorBox(e as Error));
    }
    try {
      const list = await call(client, "admin_ros_alerts", {});
      alerts.replaceChildren(
        list.length === 0 ? h("p", {}, "No ROS alerts.") : h(
          "table",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["Alert", "Day", "Slot", "What happened", "Action"].map((t) => h("th", {}, t)),
            ),
          ),
          h("tbody", {}, ...list.map(alertRow)),
        ),
      );
    } catch (e) {
      alerts.replaceChildren(errorBox(e as Error));
    }
  }

  function alertRow(a: RosAlert): HTMLElement {
    const out = h("div");
    const action = h("td", {});
    if (a.slot_number !== null && a.kind !== "overdue_slot") {
      action.append(
        changeButton(
          client,
          `Retry slot ${a.slot_number}`,
          out,
          () => retrySlot(client, a.distribution_date, a.slot_number!),
        ),
        out,
      );
    } else if (a.kind === "overdue_slot") {
      action.append("The executor runs every minute (pg_cron): check that its job is active.");
    }
    return h(
      "tr",
      {},
      h("td", {}, a.kind.replaceAll("_", " ")),
      h("td", {}, a.distribution_date),
      h("td", {}, a.slot_number === null ? "—" : `Slot ${a.slot_number}`),
      h(
        "td",
        {},
        rosAlertSentence(a),
        h(
          "details",
          {},
          h("summary", {}, "details"),
          h("pre", {}, JSON.stringify(a.detail, null, 2)),
        ),
      ),
      action,
    );
  }

  from.addEventListener("change", load);
  to.addEventListener("change", load);
  load();
  return h(
    "div",
    {},
    h(
      "section",
      {},
      h("h2", {}, "ROS history"),
      h("label", {}, "From ", from),
      h("label", {}, "To ", to),
      history,
    ),
    h("section", {}, h("h2", {}, "ROS alerts"), alerts),
    alertLogSection(client),
  );
}
