// The edge runtime's limits, as hosted Supabase enforces them (CONTRACT "Platform limits"): each
// function runs in worker processes of its own (function-worker.ts), each serving one request at a
// time, and the gateway reads the worker's CPU time from /proc while a request runs.
// - 2 s of CPU for a request: the worker is killed, the request answers 546 (WORKER_LIMIT).
// - 150 s until the response starts: the worker is killed, the request answers 504.
// - 400 s per worker: it takes no request it could not finish in time (no new one after 250 s)
//   and is killed at 400 s whatever it is doing (546).
// - 256 MB: V8's heap is capped there; a worker that dies mid-request answers 546.
// The CPU a worker spends booting (imports) is not a request's, as on the platform. The checks run
// every 20 ms, so a request is stopped within 20 ms (plus the kernel's 10 ms tick) of its limit.
import { fileURLToPath } from "node:url";
import { READY_MARKER } from "./function-worker.ts";
import { jsonResponse } from "./errors.ts";
import { log } from "./log.ts";

export type EdgeLimits = {
  cpuMs: number;
  responseStartMs: number;
  workerLifetimeMs: number;
  heapMb: number;
  /** Workers of one function at once; further requests wait for one to be free. */
  workersPerFunction: number;
};

export const HOSTED_EDGE_LIMITS: EdgeLimits = {
  cpuMs: 2_000,
  responseStartMs: 150_000,
  workerLifetimeMs: 400_000,
  heapMb: 256,
  workersPerFunction: 8,
};

const CHECK_EVERY_MS = 20;
const BOOT_TIMEOUT_MS = 30_000;
/** /proc reports CPU in USER_HZ ticks, 100 a second on Linux. */
const MS_PER_TICK = 10;

const workerScript = fileURLToPath(new URL("./function-worker.ts", import.meta.url));
const denoConfig = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** The process's CPU time (user + system, all threads) in ms, or null once it has exited. */
export async function processCpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return null; // exited, not yet reaped
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  } catch {
    return null;
  }
}

class EdgeWorker {
  readonly born = Date.now();
  readonly proc: Deno.ChildProcess;
  readonly ready: Promise<number>;
  exited = false;

  constructor(readonly name: string, handlerUrl: string, heapMb: number) {
    this.proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--config=${denoConfig}`,
        `--v8-flags=--max-old-space-size=${heapMb}`,
        workerScript,
        handlerUrl,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.proc.status.then(() => (this.exited = true));
    this.ready = this.readStdout();
  }

  /** Resolves with the port once the worker listens; passes its log lines on meanwhile and after. */
  private readStdout(): Promise<number> {
    return new Promise((resolve, reject) => {
      const lines = this.proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let listening = false;
      (async () => {
        while (true) {
          const { done, value } = await lines.read();
          if (done) break;
          buffer += value;
          let nl;
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (!listening && line.startsWith(READY_MARKER)) {
              listening = true;
              resolve(Number(line.slice(READY_MARKER.length + 1)));
            } else console.log(line);
          }
        }
        if (!listening) reject(new Error(`function ${this.name} exited before it listened`));
      })().catch(reject);
    });
  }

  kill() {
    if (this.exited) return;
    try {
      this.proc.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}

type Verdict = "cpu" | "response_start" | "lifetime" | "died";

const WORKER_LIMIT = {
  code: "WORKER_LIMIT",
  message: "Function failed due to not having enough compute resources (please check logs)",
};

/** Runs each function's requests in its own worker processes, within `limits`. */
export function functionPool(limits: EdgeLimits = HOSTED_EDGE_LIMITS) {
  const idle = new Map<string, EdgeWorker[]>();
  const live = new Map<string, Set<EdgeWorker>>();
  const waiting = new Map<string, (() => void)[]>();
  // A worker takes a request only if that request could reach its response limit before the
  // worker reaches its lifetime.
  const retireAfterMs = limits.workerLifetimeMs - limits.responseStartMs;

  function release(w: EdgeWorker, reuse: boolean) {
    if (reuse && !w.exited && Date.now() - w.born < retireAfterMs) {
      idle.get(w.name)!.push(w);
    } else {
      w.kill();
      live.get(w.name)!.delete(w);
    }
    waiting.get(w.name)?.shift()?.();
  }

  async function acquire(name: string, handlerUrl: string): Promise<EdgeWorker> {
    if (!live.has(name)) {
      live.set(name, new Set());
      idle.set(name, []);
      waiting.set(name, []);
    }
    while (true) {
      const free = idle.get(name)!;
      while (free.length) {
        const w = free.pop()!;
        if (!w.exited && Date.now() - w.born < retireAfterMs) return w;
        w.kill();
        live.get(name)!.delete(w);
      }
      if (live.get(name)!.size < limits.workersPerFunction) {
        const w = new EdgeWorker(name, handlerUrl, limits.heapMb);
        live.get(name)!.add(w);
        return w;
      }
      await new Promise<void>((r) => waiting.get(name)!.push(r));
    }
  }

  async function run(name: string, handlerUrl: string, req: Request): Promise<Response> {
    const arrived = Date.now();
    const w = await acquire(name, handlerUrl);
    let port: number;
    try {
      port = await Promise.race([
        w.ready,
        new Promise<never>((_, no) =>
          setTimeout(() => no(new Error("boot timeout")), BOOT_TIMEOUT_MS)
        ),
      ]);
    } catch (e) {
      release(w, false);
      log("error", "edge function failed to boot", { function: name, error: String(e) });
      return jsonResponse(503, {
        code: "BOOT_ERROR",
        message: "Function failed to start (please check logs)",
      });
    }
    const cpuAtStart = await processCpuMs(w.proc.pid) ?? 0;
    const abort = new AbortController();
    let verdict: Verdict | null = null;
    let responseStarted = false;
    let done = false;
    const stop = (why: Verdict) => {
      if (verdict || done) return;
      verdict = why;
      w.kill();
      abort.abort();
    };
    w.proc.status.then(() => stop("died"));
    let cpuUsed = 0;
    const watch = async () => {
      while (!done && !verdict) {
        await new Promise((r) => setTimeout(r, CHECK_EVERY_MS));
        const cpu = await processCpuMs(w.proc.pid);
        if (cpu === null) return stop("died");
        cpuUsed = cpu - cpuAtStart;
        if (cpuUsed >= limits.cpuMs) stop("cpu");
        else if (!responseStarted && Date.now() - arrived >= limits.responseStartMs) {
          stop("response_start");
        } else if (Date.now() - w.born >= limits.workerLifetimeMs) stop("lifetime");
      }
    };
    const watching = watch();
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    headers.delete("connection");
    try {
      const res = await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: req.body,
        signal: abort.signal,
        redirect: "manual",
      });
      responseStarted = true;
      const body = await res.arrayBuffer();
      done = true;
      await watching;
      const out = new Headers(res.headers);
      out.delete("content-length");
      out.delete("transfer-encoding");
      out.set("x-edge-cpu-ms", String(cpuUsed));
      release(w, true);
      return new Response(req.method === "HEAD" ? null : body, {
        status: res.status,
        headers: out,
      });
    } catch (e) {
      // The worker's death is seen by its exit status or by /proc a moment after the connection.
      if (!verdict) await Promise.race([w.proc.status, new Promise((r) => setTimeout(r, 200))]);
      stop("died");
      done = true;
      await watching;
      // Reaped before the answer: a stopped worker is gone, not a zombie, when the caller hears.
      await Promise.race([w.proc.status, new Promise((r) => setTimeout(r, 2_000))]);
      release(w, false);
      const why = (verdict as Verdict | null) ?? "died";
      log("warn", "edge function stopped", {
        function: name,
        reason: why,
        cpu_ms: cpuUsed,
        ms: Date.now() - arrived,
        ...(why === "died" ? { error: String(e) } : {}),
      });
      // The CPU it had used when stopped, as on a served answer: the limit is read off the
      // process's CPU (all its threads), not off the wall clock.
      const cpuHeader = { "x-edge-cpu-ms": String(cpuUsed) };
      if (why === "response_start") {
        return jsonResponse(504, {
          code: "TIMEOUT",
          message: `Function did not start its response within ${limits.responseStartMs} ms`,
        }, cpuHeader);
      }
      return jsonResponse(546, WORKER_LIMIT, cpuHeader);
    }
  }

  // Idle workers past their retirement are stopped, so none lingers until a next request.
  const reaper = setInterval(() => {
    for (const [name, free] of idle) {
      const keep = free.filter((w) => !w.exited && Date.now() - w.born < retireAfterMs);
      for (const w of free) {
        if (!keep.includes(w)) {
          w.kill();
          live.get(name)!.delete(w);
        }
      }
      idle.set(name, keep);
    }
  }, 5_000);
  Deno.unrefTimer(reaper);

  async function close() {
    clearInterval(reaper);
    for (const set of live.values()) {
      for (const w of set) w.kill();
      await Promise.all([...set].map((w) => w.proc.status.catch(() => {})));
      set.clear();
    }
  }

  return { run, close };
}
