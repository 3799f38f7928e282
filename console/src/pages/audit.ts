/// <reference lib="dom" />
// Audit: who did what, with the state before and after (admin_audit_log, newest first).
import { call, type RpcResult } from "../api.ts";
import type { Client } from "../client.ts";
import { errorBox, fieldList, h } from "../dom.ts";
import { peopleLabels } from "../people.ts";
import { formatInZone } from "../time.ts";

type Entry = RpcResult<"admin_audit_log">[number];

export function auditPage(client: Client): HTMLElement {
  const out = h("div");
  (async () => {
    const rows = await call(client, "admin_audit_log", { p_limit: 200 });
    const people = await peopleLabels(client, rows.map((r) => r.actor));
    out.replaceChildren(h(
      "table",
      {},
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["When", "Who", "Action", "Target", "Before", "After"].map((t) => h("th", {}, t)),
        ),
      ),
      h(
        "tbody",
        {},
        ...rows.map((r) =>
          h(
            "tr",
            {},
            h("td", {}, formatInZone(r.created_at)),
            h(
              "td",
              {},
              `${r.actor ? people.get(r.actor) ?? r.actor.slice(0, 8) : "—"} (${r.actor_role})`,
            ),
            h("td", {}, r.action),
            h("td", {}, fieldList(r.target)),
            h("td", {}, fieldList(r.before)),
            h("td", {}, fieldList(r.after)),
          )
        ),
      ),
    ));
  })().catch((e) => out.replaceChildren(errorBox(e)));
  return h("section", {}, h("h2", {}, "Audit"), out);
}
