// The console's admin reads timed through the gateway as an admin at aal2 (authenticated: cut at
// 8 s on hosted Supabase and on the local stack), shared by the benchmarks that build a size.
import type { StackInfo } from "../local/stack.ts";
import { signJwt } from "../local/jwt.ts";

/** One admin read at the benchmark's size: its HTTP status, time and answer size. */
export type AdminRead = { name: string; ms: number; status: number; bytes: number };

/** A labelled call: [label, RPC name, arguments]. */
export type ReadCall = [string, string, Record<string, unknown>];

export async function adminReads(stack: StackInfo, calls: ReadCall[]): Promise<AdminRead[]> {
  const jwt = signJwt({
    sub: crypto.randomUUID(),
    role: "authenticated",
    aal: "aal2",
    app_metadata: { role: "admin" },
    exp: Math.floor(Date.now() / 1000) + 3600,
  }, stack.jwt_secret);
  const out: AdminRead[] = [];
  for (const [label, name, args] of calls) {
    const t = performance.now();
    const res = await fetch(`${stack.api_url}/rest/v1/rpc/${name}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        apikey: stack.anon_key,
        authorization: `Bearer ${jwt}`,
      },
      body: JSON.stringify(args),
    });
    const body = await res.arrayBuffer();
    out.push({
      name: label,
      ms: performance.now() - t,
      status: res.status,
      bytes: body.byteLength,
    });
  }
  return out;
}

/** The table the benchmark prints for its reads. */
export function printReads(title: string, reads: AdminRead[]) {
  console.log(`\n${title}`);
  console.log("| RPC | status | ms | answer (KiB) |\n|---|---:|---:|---:|");
  for (const x of reads) {
    console.log(
      `| ${x.name} | ${x.status} | ${x.ms.toFixed(0)} | ${(x.bytes / 1024).toFixed(0)} |`,
    );
  }
}
