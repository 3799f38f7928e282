/// <reference lib="dom" />
// Sign-in as on hosted Supabase: email and password, then a TOTP code (supabase.auth.mfa) for the
// aal2 session admin mutations need. An admin may go on read-only (aal1); mutations then ask for
// the code first.
import type { Client } from "./client.ts";
import { act, errorBox, field, h } from "./dom.ts";

export async function assurance(client: Client) {
  const { data } = await client.auth.mfa.getAuthenticatorAssuranceLevel();
  return { current: data?.currentLevel ?? null, next: data?.nextLevel ?? null };
}

/** Challenges a factor and verifies a code: the session becomes aal2, or the error is thrown. */
async function checkCode(client: Client, factorId: string, code: string) {
  const { error } = await client.auth.mfa.challengeAndVerify({ factorId, code: code.trim() });
  if (error) throw error;
}

/** The TOTP step: challenge the user's verified factor and verify the code (aal2). */
export function verifyForm(client: Client, onVerified: () => void, intro?: string): HTMLElement {
  const code = field("Authentication code", {
    inputmode: "numeric",
    autocomplete: "one-time-code",
    pattern: "[0-9]{6}",
    maxlength: "6",
  });
  const out = h("div");
  const button = h("button", { type: "submit" }, "Verify");
  const form = h(
    "form",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        act(button, out, async () => {
          const factors = await client.auth.mfa.listFactors();
          if (factors.error) throw factors.error;
          const factor = factors.data.totp.find((f) => f.status === "verified");
          if (!factor) {
            throw new Error("no verified authenticator on this account: enrol one first");
          }
          await checkCode(client, factor.id, code.input.value);
          onVerified();
        });
      },
    },
    intro ? h("p", { class: "notice" }, intro) : null,
    code.el,
    button,
    out,
  );
  return form;
}

export function signInForm(client: Client, onSignedIn: () => void): HTMLElement {
  const email = field("Email", { type: "email", autocomplete: "username" });
  const password = field("Password", { type: "password", autocomplete: "current-password" });
  const out = h("div");
  const button = h("button", { type: "submit" }, "Sign in");
  const section = h("section");
  const form = h(
    "form",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        act(button, out, async () => {
          const r = await client.auth.signInWithPassword({
            email: email.input.value.trim(),
            password: password.input.value,
          });
          if (r.error) throw r.error;
          const level = await assurance(client);
          if (level.next === "aal1" && r.data.user?.app_metadata?.role === "admin") {
            // An admin without an authenticator yet (a new hosted project): enrol one now.
            section.replaceChildren(
              h("h2", {}, "Set up two-step verification"),
              enrolForm(client, onSignedIn),
            );
          } else if (level.next === "aal2" && level.current !== "aal2") {
            section.replaceChildren(
              h("h2", {}, "Two-step verification"),
              verifyForm(client, onSignedIn, "Enter the 6-digit code from your authenticator app."),
              h("button", { type: "button", onclick: () => onSignedIn() }, "Continue read-only"),
            );
          } else onSignedIn();
        });
      },
    },
    email.el,
    password.el,
    button,
    out,
  );
  section.append(h("h2", {}, "Sign in"), form);
  return section;
}

/** Enrols a TOTP factor: shows its secret and otpauth URI for an authenticator app, then verifies
 * the first code (which also makes the session aal2). */
export function enrolForm(client: Client, onVerified: () => void): HTMLElement {
  const out = h("div");
  const box = h(
    "div",
    {},
    h("p", {}, "Add this account to an authenticator app, then enter its code."),
    out,
  );
  client.auth.mfa.enroll({ factorType: "totp", friendlyName: "console" }).then(
    ({ data, error }) => {
      if (error) return out.replaceChildren(errorBox(error));
      const code = field("Authentication code", { inputmode: "numeric", maxlength: "6" });
      const msg = h("div");
      const button = h("button", { type: "submit" }, "Verify");
      out.replaceChildren(
        h("p", {}, "Secret: ", h("code", {}, data.totp.secret)),
        h("p", {}, "Or the URI: ", h("code", {}, data.totp.uri)),
        h(
          "form",
          {
            onsubmit: (e: Event) => {
              e.preventDefault();
              act(button, msg, async () => {
                await checkCode(client, data.id, code.input.value);
                onVerified();
              });
            },
          },
          code.el,
          button,
          msg,
        ),
      );
    },
  );
  return box;
}

/** Runs a mutation only with an aal2 session; otherwise shows the verify prompt in `out`. */
export async function withMfa(
  client: Client,
  out: HTMLElement,
  run: () => Promise<void>,
): Promise<void> {
  if ((await assurance(client)).current === "aal2") return await run();
  out.replaceChildren(
    verifyForm(
      client,
      () => {
        out.replaceChildren(h("p", { class: "notice" }, "Verified: try the action again."));
      },
      "Verify with your authenticator to make changes: this session is read-only (aal1).",
    ),
  );
}

/**
 * A button for a change: it works with progress, asks for the code first on a read-only session,
 * and shows what `run` reports (or its error) in `out`.
 */
export function changeButton(
  client: Client,
  label: string,
  out: HTMLElement,
  run: () => Promise<string | void>,
): HTMLButtonElement {
  const button = h("button", { type: "button" }, label);
  button.onclick = () =>
    act(button, out, async () => {
      let done: string | void = undefined;
      await withMfa(client, out, async () => {
        done = await run();
      });
      return done;
    });
  return button;
}

export { errorBox };
