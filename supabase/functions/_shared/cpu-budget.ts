// The CPU a request has used, against the edge runtime's 2 s limit (CONTRACT "Platform limits"):
// a function past it is stopped mid-work (546) without running another line, so each function
// measures its own use and stops taking work well before it. process.cpuUsage() counts the whole
// worker (every thread, GC included), as the runtime does; a worker serves one request at a time
// locally, and on the platform a shared isolate only makes the figure larger, never smaller.
import process from "node:process";

export const EDGE_CPU_LIMIT_MS = 2_000;

export type CpuBudget = {
  /** CPU ms used since the budget started. */
  used(): number;
  /** Whether `more` ms could still be spent without passing `limitMs`. */
  allows(more: number, limitMs: number): boolean;
};

export function cpuBudget(): CpuBudget {
  const start = process.cpuUsage();
  const used = () => {
    const d = process.cpuUsage(start);
    return (d.user + d.system) / 1000;
  };
  return { used, allows: (more, limitMs) => used() + more <= limitMs };
}
