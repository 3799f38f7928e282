/// <reference lib="dom" />
// Audit: who did what, with the state before and after (admin_audit_log, newest first).
import { data } from "../api.ts";
import type { Client } from "../client.ts";
import { errorBox, h } from "../dom.ts";
import { formatInZone } from "../time.ts";

type Entry = {
  id: number;
  actor: string | null;
  actor_role: string;
  action: string;
  target: unknown;
  before: unknown;
  after: unknown;
  created_at: string;
};

export function auditPage(client: Client): HTMLElement {
  const out = h("div");
  data<Entry[]>(client.rpc("admin_audit_log", { p_limit: 200 })).then((rows) => {
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
            h("td", {}, `${r.actor ?? "—"} (${r.actor_role})`),
            h("td", {}, r.action),
            h("td", {}, h("code", {}, JSON.stringify(r.target))),
            h("td", {}, h("code", {}, JSON.stringify(r.before))),
            h("td", {}, h("code", {}, JSON.stringify(r.after))),
          )
        ),
      ),
    ));
  }).catch((e) => out.replaceChildren(errorBox(e)));
  return h("section", {}, h("h2", {}, "Audit"), out);
}
