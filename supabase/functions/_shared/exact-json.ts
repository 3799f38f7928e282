// JSON parsed with every number kept as its source text (JSON.rawJSON, ES2025): an amount of
// kobo is never a float on its way to Postgres, and stringifies back exactly as it was written.
const J = JSON as typeof JSON & {
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
};

/** JSON.parse, numbers kept exactly. Throws as JSON.parse does. */
export function parseExactJson(text: string): unknown {
  return JSON.parse(
    text,
    (_k, v, ctx?: { source?: string }) =>
      typeof v === "number" && ctx?.source !== undefined ? J.rawJSON(ctx.source) : v,
  );
}

/** Whether a value is such a number. */
export const isExactNumber = (v: unknown): boolean => J.isRawJSON(v);
