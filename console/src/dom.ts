/// <reference lib="dom" />
// Tiny DOM helpers: elements from tag, attributes and children; errors shown with their message
// and hint, never swallowed; long actions disable their button and say so.
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((e: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  // A table scrolls inside itself on a narrow screen: focusable, so the keyboard can scroll it.
  if (tag === "table" && !("tabindex" in attrs)) el.setAttribute("tabindex", "0");
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c) el.append(c);
  return el;
}

/** A labelled input: the label's text is the field's accessible name. */
export function field(label: string, attrs: Record<string, string> = {}) {
  const input = h("input", attrs);
  return { input, el: h("label", {}, label + " ", input) };
}

export type ApiError = {
  message: string;
  hint?: string | null;
  details?: string | null;
  code?: string;
};

export function errorBox(e: ApiError | Error): HTMLElement {
  const err = e as ApiError;
  return h(
    "div",
    { class: "error", role: "alert" },
    h("strong", {}, err.message ?? String(e)),
    err.hint ? h("div", {}, "Hint: " + err.hint) : null,
    err.details ? h("div", {}, h("code", {}, err.details)) : null,
    err.code ? h("div", {}, h("small", {}, "code " + err.code)) : null,
  );
}

/** Runs an action with its button disabled and a progress word; shows the error in `out`. */
export async function act(
  button: HTMLButtonElement,
  out: HTMLElement,
  run: () => Promise<string | void>,
): Promise<void> {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = `${label}…`;
  const working = h("span", { class: "notice" }, "Working…");
  out.replaceChildren(working);
  try {
    const done = await run();
    // The action may have put something of its own there (the verify prompt): keep it.
    if (done) out.replaceChildren(h("span", { class: "notice", role: "status" }, done));
    else if (out.contains(working)) out.replaceChildren();
  } catch (e) {
    out.replaceChildren(errorBox(e as ApiError));
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

/** A record as "key: value" lines (nested keys joined with dots), never as JSON text: what the
 * audit shows before and after a change. */
export function fieldList(value: unknown): HTMLElement {
  if (value === null || value === undefined) return h("span", {}, "—");
  if (typeof value !== "object") return h("span", {}, String(value));
  const lines: [string, string][] = [];
  const walk = (v: unknown, path: string) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, inner] of Object.entries(v)) walk(inner, path ? `${path}.${k}` : k);
    } else if (Array.isArray(v)) {
      lines.push([path, v.map((x) => (typeof x === "object" ? "…" : String(x))).join(", ")]);
    } else lines.push([path, v === null ? "—" : String(v)]);
  };
  walk(value, "");
  if (lines.length === 0) return h("span", {}, "—");
  return h(
    "dl",
    { class: "fields" },
    ...lines.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
}
