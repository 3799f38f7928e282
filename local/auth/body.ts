// An Auth request's JSON body read as GoTrue reads it: an object, or 400 bad_json; a string field
// holding a NUL character (which no password, email or code contains, and Postgres cannot take)
// is 400 validation_failed, never a 500 from the database.
export type Body = Record<string, unknown>;
export type BodyRead =
  | { ok: true; body: Body }
  | { ok: false; code: "bad_json" | "validation_failed"; msg: string };

export async function readAuthBody(req: Request): Promise<BodyRead> {
  if (req.method !== "POST") return { ok: true, body: {} };
  const text = await req.text();
  if (text.trim() === "") return { ok: true, body: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: "bad_json", msg: "Could not parse request body as JSON" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, code: "bad_json", msg: "Request body must be a JSON object" };
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === "string" && v.includes("\u0000")) {
      return { ok: false, code: "validation_failed", msg: `${k} must not contain NUL characters` };
    }
  }
  return { ok: true, body: value as Body };
}
