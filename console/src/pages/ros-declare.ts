/// <reference lib="dom" />
// Declaring a ROS day's slots, or adding slots to a declared day: rows of slot number, ROS % and a
// time of day in the business zone.
import { call, type SlotInput } from "../api.ts";
import type { Client } from "../client.ts";
import { h } from "../dom.ts";
import { changeButton } from "../session.ts";
import { slotRows } from "../forms.ts";

export function declareSection(
  client: Client,
  day: HTMLInputElement,
  reload: () => Promise<void>,
): HTMLElement {
  const out = h("div");
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
    await reload();
    return r.created ? "Day declared" : "Slots merged into the day";
  });
  const add = changeButton(client, "Add slots", out, async () => {
    await call(client, "admin_add_slots", { p_distribution_date: day.value, p_slots: readRows() });
    await reload();
    return "Slots added";
  });

  return h(
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
  );
}
