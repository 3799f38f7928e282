// Structured JSON logs. Only ids, counts and error texts: never keys, signatures or personal data.
type Level = "debug" | "info" | "warn" | "error";

export function createLogger(fn: string) {
  const emit = (level: Level, msg: string, fields: Record<string, unknown> = {}) => {
    const line = JSON.stringify({ ts: new Date().toISOString(), level, fn, msg, ...fields });
    if (level === "error" || level === "warn") console.error(line);
    else console.log(line);
  };
  return {
    info: (msg: string, fields?: Record<string, unknown>) => emit("info", msg, fields),
    warn: (msg: string, fields?: Record<string, unknown>) => emit("warn", msg, fields),
    error: (msg: string, fields?: Record<string, unknown>) => emit("error", msg, fields),
  };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
