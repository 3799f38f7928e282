/// <reference lib="dom" />
// Who investors and admins are, as an operator knows them: "name <email> (short id)". One call to
// admin_investors for the ids a page shows (at most 1,000), never one per row.
import { call, type RpcResult } from "./api.ts";
import type { Client } from "./client.ts";

type Person = RpcResult<"admin_investors">[number];

/** The label of each known id; an id the database does not know keeps its short form. */
export async function peopleLabels(
  client: Client,
  ids: (string | null | undefined)[],
): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((id): id is string => typeof id === "string"))].slice(
    0,
    1000,
  );
  const labels = new Map<string, string>();
  if (wanted.length === 0) return labels;
  const people = await call(client, "admin_investors", { p_user_ids: wanted });
  for (const p of people) labels.set(p.user_id, personLabel(p));
  return labels;
}

export function personLabel(p: Person): string {
  const short = p.user_id.slice(0, 8);
  if (p.name && p.email) return `${p.name} <${p.email}> (${short})`;
  return `${p.name ?? p.email ?? "investor"} (${short})`;
}
