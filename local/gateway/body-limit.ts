// Request bodies of the API (/rest/v1, /auth/v1) are at most 1 MiB, as hosted Supabase's API
// gateway bounds them: a larger declared Content-Length is answered 413 before anything is read,
// and a body without one is read only up to the limit. Nothing oversized reaches a database
// connection or the heap.
import { readLimitedBody } from "../../supabase/functions/_shared/http.ts";
import { jsonResponse } from "./errors.ts";

export const MAX_API_BODY_BYTES = 1024 * 1024;

/** The request with its body read (at most the limit), or the 413 to answer. */
export async function limitBody(req: Request): Promise<Request | Response> {
  if (req.method === "GET" || req.method === "HEAD" || !req.body) return req;
  const body = await readLimitedBody(req, MAX_API_BODY_BYTES);
  if (!body) {
    return jsonResponse(413, {
      code: "PGRST413",
      message: `request body larger than ${MAX_API_BODY_BYTES} bytes`,
      details: null,
      hint: null,
    }, { connection: "close" });
  }
  return new Request(req.url, { method: req.method, headers: req.headers, body: body.slice() });
}
