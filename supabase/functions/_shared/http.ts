// JSON responses for the edge functions.
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

export function problem(status: number, error: string, details?: unknown): Response {
  return json(status, details === undefined ? { error } : { error, details });
}
