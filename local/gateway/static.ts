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

export async function serveStatic(dir: string, path: string): Promise<Response> {
  const rel = normalize(path === "" || path === "/" ? "/index.html" : path);
  if (rel.includes("..")) return new Response("not found", { status: 404 });
  try {
    const body = await Deno.readFile(join(dir, rel));
    return new Response(body, {
      headers: {
        "content-type": TYPES[extname(rel)] ?? "application/octet-stream",
        "cache-control": "no-cache",
      },
    });
  } catch {
    return new Response("not found", { status: 404 });
  }
}
