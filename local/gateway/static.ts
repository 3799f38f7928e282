// Static files for /console/: the operator console's build, as a static host would serve it.
import { extname, join, normalize } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** The console loads only its own files and talks only to this API; no site may frame it (a
 * framed console could be clicked through by a page the operator does not see). */
export const CONSOLE_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; " +
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; " +
    "frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export async function serveStatic(dir: string, path: string): Promise<Response> {
  const rel = normalize(path === "" || path === "/" ? "/index.html" : path);
  if (rel.includes("..")) {
    return new Response("not found", { status: 404, headers: CONSOLE_HEADERS });
  }
  try {
    const body = await Deno.readFile(join(dir, rel));
    return new Response(body, {
      headers: {
        "content-type": TYPES[extname(rel)] ?? "application/octet-stream",
        "cache-control": "no-cache",
        ...CONSOLE_HEADERS,
      },
    });
  } catch {
    return new Response("not found", { status: 404, headers: CONSOLE_HEADERS });
  }
}
