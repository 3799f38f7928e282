/// <reference lib="dom" />
// ROS day: declare a day's slots (up to 100, times in the business zone), add slots after others
// completed, edit or cancel pending ones, retry failed or completed ones (showing how many were
// paid now); each slot's status, times, stakes paid and amount, refreshed while slots run.
import { call, type Declaration, retrySlot, type Slot, type SlotInput } from "../api.ts";
import type { Client } from "../client.ts";
import { errorBox, h } from "../dom.ts";
import { changeButton } from "../session.ts";
import { clockText, decimalText, exact, slotRows } from "../forms.ts";
import { clockInZone, dayInZone, formatInZone, timeOnDay } from "../time.ts";

const RUNNING = new Set(["PENDING", "EXECUTING"]);

export function rosDayPage(client: Client): HTMLElement {
  const day = h("input", { type: "date", value: dayInZone(new Date()), "aria-label": "Day" });
  const status = h("div", { "aria-live": "polite" });
  const slots = h("div");
  const out = h("div");
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
        h("tbody", {}, ...d.slots.map(row)),
      ),
    );
  }

  function row(s: Slot): HTMLElement {
    const msg = rowOut;
    const actions = h("td", {});
    if (s.status === "PENDING") {
      const pct = h("input", {
        value: String(s.ros_percentage),
        size: "5",
        "aria-label": `ROS % of slot ${s.slot_number}`,
      });
      const at = h("input", {
        type: "time",
        value: clockInZone(s.scheduled_for),
        "aria-label": `Time of slot ${s.slot_number}`,
      });
      const save = changeButton(client, "Save", msg, async () => {
        await call(client, "admin_update_slot", {
          p_distribution_date: day.value,
          p_slot_number: s.slot_number,
          p_ros_percentage: exact(decimalText(pct.value, `ROS % of slot ${s.slot_number}`)),
          p_scheduled_for: timeOnDay(
            day.value,
            clockText(at.value, `Time of slot ${s.slot_number}`),
          ),
        });
        await load();
      });
      const cancel = changeButton(client, "Cancel slot", msg, async () => {
        await call(client, "admin_cancel_slot", {
          p_distribution_date: day.value,
          p_slot_number: s.slot_number,
        });
        await load();
      });
      actions.append(pct, " % at ", at, " ", save, " ", cancel);
    }
    if (s.status === "FAILED" || s.status === "COMPLETED") {
      actions.append(changeButton(client, "Retry", msg, async () => {
        const said = await retrySlot(client, day.value, s.slot_number);
        await load();
        return said;
      }));
    }
    return h(
      "tr",
      {},
      h("td", {}, `Slot ${s.slot_number}`),
      h("td", { class: `status ${s.status}` }, s.status),
      h("td", {}, String(s.ros_percentage)),
      h("td", {}, formatInZone(s.scheduled_for)),
      h("td", {}, formatInZone(s.started_at)),
      h("td", {}, formatInZone(s.executed_at)),
      h("td", {}, String(s.users_processed ?? 0)),
      h("td", {}, String(s.total_distributed ?? 0)),
      actions,
      h("td", {}, s.error_message ? h("span", { class: "error" }, s.error_message) : ""),
    );
  }

  // Declaring: rows of slot number, ROS % and a time of day in the business zone.
  const rows = h("tbody");
  const addRow = (n = rows.children.length + 1) => {
    rows.append(h(
      "tr",
      {},
      h(
        "td",
        {},
        h("input", {
          type: "number",
          min: "1",
          max: "100",
          value: String(n),
          "aria-label": "Slot number",
        }),
      ),
      h("td", {}, h("input", { value: "0.5", size: "5", "aria-label": "ROS %" })),
      h("td", {}, h("input", { type: "time", value: "09:00", "aria-label": "Time" })),
    ));
  };
  addRow();
  const readRows = (): SlotInput[] =>
    slotRows(
      day.value,
      [...rows.children].map((tr) => {
        const [n, pct, at] = [...tr.querySelectorAll("input")].map((i) => i.value);
        return [n, pct, at] as [string, string, string];
      }),
    );
  const queue = changeButton(client, "Queue day", out, async () => {
    const r = await call(client, "admin_queue_distribution", {
      p_distribution_date: day.value,
      p_slots: readRows(),
    });
    await load();
    return r.created ? "Day declared" : "Slots merged into the day";
  });
  const add = changeButton(client, "Add slots", out, async () => {
    await call(client, "admin_add_slots", { p_distribution_date: day.value, p_slots: readRows() });
    await load();
    return "Slots added";
  });

  day.addEventListener("change", load);
  load();
  return h(
    "div",
    {},
    h("section", {}, h("h2", {}, "ROS day"), h("label", {}, "Day ", day), status, rowOut, slots),
    h(
      "section",
      {},
      h("h3", {}, "Declare or add slots (times in Africa/Lagos)"),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", {}, "Slot"), h("th", {}, "ROS %"), h("th", {}, "Time"))),
        rows,
      ),
      h("button", { type: "button", onclick: () => addRow() }, "Add row"),
      " ",
      queue,
      " ",
      add,
      out,
    ),
  );
}
