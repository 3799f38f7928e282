/// <reference lib="dom" />
// ROS day: declare a day's slots (up to 100, times in the business zone), add slots after others
// completed, edit or cancel pending ones, retry failed or completed ones (showing how many were
// paid now); each slot's status, times, stakes paid and amount, refreshed while slots run.
import { call, type Declaration } from "../api.ts";
import type { Client } from "../client.ts";
import { errorBox, h } from "../dom.ts";
import { declareSection } from "./ros-declare.ts";
import { slotRow } from "./ros-slot-row.ts";
import { dayInZone } from "../time.ts";

const RUNNING = new Set(["PENDING", "EXECUTING"]);

export function rosDayPage(client: Client): HTMLElement {
  const day = h("input", { type: "date", value: dayInZone(new Date()), "aria-label": "Day" });
  const status = h("div", { "aria-live": "polite" });
  const slots = h("div");
  // What a slot's action did (its row is redrawn by the refresh that follows).
  const rowOut = h("div", { "aria-live": "polite" });
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function load() {
    clearTimeout(timer);
    try {
      const d = await call(client, "admin_distribution_status", { p_distribution_date: day.value });
      render(d);
      if (d.slots.some((s) => RUNNING.has(s.status)) && document.body.contains(status)) {
        timer = setTimeout(load, 2_000);
      }
    } catch (e) {
      const err = e as { code?: string };
      status.replaceChildren(
        err.code === "PT404"
          ? h("p", {}, `No declaration for ${day.value} yet: declare its slots below.`)
          : errorBox(e as Error),
      );
      slots.replaceChildren();
    }
  }

  function render(d: Declaration) {
    status.replaceChildren(
      h(
        "p",
        {},
        "Declaration ",
        h("span", { class: `status ${d.status}` }, d.status),
        ` · ${d.slots.length} slots · ${d.total_ros_percentage} % declared · ${d.total_distributed} distributed`,
      ),
    );
    slots.replaceChildren(
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...[
              "Slot",
              "Status",
              "ROS %",
              "Scheduled",
              "Started",
              "Executed",
              "Stakes paid",
              "Amount",
              "",
              "",
            ]
              .map((t) => h("th", {}, t)),
          ),
        ),
        h("tbody", {}, ...d.slots.map((s) => slotRow(client, day.value, s, rowOut, load))),
      ),
    );
  }

  day.addEventListener("change", load);
  load();
  return h(
    "div",
    {},
    h("section", {}, h("h2", {}, "ROS day"), h("label", {}, "Day ", day), status, rowOut, slots),
    declareSection(client, day, load),
  );
}
