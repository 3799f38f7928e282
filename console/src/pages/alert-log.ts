/// <reference lib="dom" />
// The alert log (every alert pushed to the channels: its state, when it was first and last seen,
// when a channel last accepted it, who acknowledged it) with the acknowledge action, and the alert
// channels (their URL and secret are write-only: the page never reads them back).
import { AlertChannelKinds } from "../../../supabase/functions/_shared/database.types.ts";
import { call, type RpcResult } from "../api.ts";
import type { Client } from "../client.ts";
import { errorBox, field, h } from "../dom.ts";
import { changeButton } from "../session.ts";
import { formatInZone } from "../time.ts";

type LoggedAlert = RpcResult<"admin_alert_log">[number];
type Channel = RpcResult<"admin_alert_channels">[number];

export function alertLogSection(client: Client): HTMLElement {
  const log = h("div");
  const channels = h("div");
  // Outside the table: what an action says survives the table being drawn again.
  const logOut = h("div");

  async function load() {
    try {
      const list = await call(client, "admin_alert_log", { p_limit: 200 });
      log.replaceChildren(
        list.length === 0 ? h("p", {}, "No alerts recorded yet.") : h(
          "table",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["Alert", "About", "State", "First seen", "Last seen", "Notified", "Action"].map(
                (t) => h("th", {}, t),
              ),
            ),
          ),
          h("tbody", {}, ...list.map(row)),
        ),
      );
    } catch (e) {
      log.replaceChildren(errorBox(e as Error));
    }
    try {
      const list = await call(client, "admin_alert_channels", {});
      channels.replaceChildren(
        list.length === 0 ? h("p", {}, "No channel: alerts are only listed here.") : h(
          "ul",
          {},
          ...list.map((c) =>
            h(
              "li",
              {},
              `${c.name}: ${c.kind} to ${c.url_host ?? "?"}${c.signed ? ", signed" : ""}, `,
              c.enabled ? "enabled" : "disabled",
              c.last_delivered_at ? `; last delivered ${formatInZone(c.last_delivered_at)}` : "",
              c.failed_deliveries ? `; ${c.failed_deliveries} failed in the last day` : "",
            )
          ),
        ),
      );
    } catch (e) {
      channels.replaceChildren(errorBox(e as Error));
    }
  }

  function row(a: LoggedAlert): HTMLElement {
    const action = h("td", {}, a.action);
    if (a.state === "open") {
      action.append(
        " ",
        changeButton(client, `Acknowledge alert ${a.id}`, logOut, async () => {
          await call(client, "admin_acknowledge_alert", {
            p_alert_id: a.id,
            p_note: "from the console",
          });
          await load();
          return `alert ${a.id} acknowledged: no more reminders`;
        }),
      );
    }
    const state = a.state === "acknowledged" && a.acknowledged_by
      ? `acknowledged by ${a.acknowledged_by.slice(0, 8)}`
      : a.state === "resolved" && a.resolved_at
      ? `resolved ${formatInZone(a.resolved_at)}`
      : a.state;
    return h(
      "tr",
      {},
      h("td", {}, a.kind.replaceAll("_", " ")),
      h("td", {}, h("code", {}, a.subject)),
      h("td", {}, state),
      h("td", {}, formatInZone(a.first_seen)),
      h("td", {}, formatInZone(a.last_seen)),
      h("td", {}, a.notified_at ? formatInZone(a.notified_at) : "not yet"),
      action,
    );
  }

  // A channel: name, kind, URL and (webhook) secret. Both are sent once and never shown again.
  const name = field("Channel name");
  const kind = h(
    "select",
    { "aria-label": "Channel kind" },
    ...AlertChannelKinds.map((k) => h("option", { value: k }, k)),
  );
  const url = field("Channel URL", { type: "url" });
  const secret = field("Signing secret (webhook)", { type: "password", autocomplete: "off" });
  const enabled = h("input", { type: "checkbox", checked: true });
  const saved = h("span");
  const save = changeButton(client, "Save channel", saved, async () => {
    await call(client, "admin_set_alert_channel", {
      p_name: name.input.value.trim(),
      p_kind: kind.value,
      p_url: url.input.value.trim(),
      p_secret: secret.input.value || undefined,
      p_enabled: enabled.checked,
    });
    secret.input.value = "";
    await load();
    return "channel saved";
  });

  load();
  return h(
    "div",
    {},
    h("section", {}, h("h2", {}, "Alert log"), logOut, log),
    h(
      "section",
      {},
      h("h2", {}, "Alert channels"),
      channels,
      name.el,
      h("label", {}, "Kind ", kind),
      url.el,
      secret.el,
      h("label", {}, enabled, " enabled"),
      save,
      saved,
    ),
  );
}
