/// <reference lib="dom" />
// One slot of a ROS day: its status, times, stakes paid and amount; a pending slot's percentage
// and time can be changed or the slot cancelled, a failed or completed one retried (the answer
// says how many were paid now). What an action did goes to msg; reload redraws the day.
import { call, retrySlot, type Slot } from "../api.ts";
import type { Client } from "../client.ts";
import { h } from "../dom.ts";
import { changeButton } from "../session.ts";
import { clockText, decimalText, exact } from "../forms.ts";
import { clockInZone, formatInZone, timeOnDay } from "../time.ts";

export function slotRow(
  client: Client,
  day: string,
  s: Slot,
  msg: HTMLElement,
  reload: () => Promise<void>,
): HTMLElement {
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
        p_distribution_date: day,
        p_slot_number: s.slot_number,
        p_ros_percentage: exact(decimalText(pct.value, `ROS % of slot ${s.slot_number}`)),
        p_scheduled_for: timeOnDay(
          day,
          clockText(at.value, `Time of slot ${s.slot_number}`),
        ),
      });
      await reload();
    });
    const cancel = changeButton(client, "Cancel slot", msg, async () => {
      await call(client, "admin_cancel_slot", {
        p_distribution_date: day,
        p_slot_number: s.slot_number,
      });
      await reload();
    });
    actions.append(pct, " % at ", at, " ", save, " ", cancel);
  }
  if (s.status === "FAILED" || s.status === "COMPLETED") {
    actions.append(changeButton(client, "Retry", msg, async () => {
      const said = await retrySlot(client, day, s.slot_number);
      await reload();
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
