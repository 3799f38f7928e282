/// <reference lib="dom" />
// The operator console: sign in (password, then TOTP), then the dashboard's pages. A non-admin sees
// nothing; a read-only admin (aal1) sees everything and is asked for a code before any change.
import { makeClient } from "./client.ts";
import { h } from "./dom.ts";
import { alertsPage } from "./pages/alerts.ts";
import { auditPage } from "./pages/audit.ts";
import { overviewPage } from "./pages/overview.ts";
import { rosDayPage } from "./pages/ros-day.ts";
import { tokensPage } from "./pages/tokens.ts";
import { assurance, signInForm, verifyForm } from "./session.ts";

const client = makeClient();
const app = document.getElementById("app")!;
const nav = document.getElementById("nav")!;

const PAGES = {
  "Overview": overviewPage,
  "ROS day": rosDayPage,
  "History & alerts": alertsPage,
  "Tokens": tokensPage,
  "Audit": auditPage,
} as const;
type PageName = keyof typeof PAGES;

async function show(page: PageName = "Overview") {
  const { data } = await client.auth.getSession();
  const session = data.session;
  if (!session) {
    nav.replaceChildren();
    app.replaceChildren(signInForm(client, () => show()));
    return;
  }
  const level = await assurance(client);
  const out = h("span");
  const who = h(
    "span",
    {},
    `${session.user.email} · ${level.current === "aal2" ? "verified (aal2)" : "read-only (aal1)"} `,
    level.current !== "aal2"
      ? h("button", {
        type: "button",
        onclick: () => out.replaceChildren(verifyForm(client, () => show(page))),
      }, "Verify to make changes")
      : null,
    " ",
    h("button", {
      type: "button",
      onclick: async () => {
        await client.auth.signOut();
        show();
      },
    }, "Sign out"),
    out,
  );
  if (session.user.app_metadata?.role !== "admin") {
    nav.replaceChildren(who);
    app.replaceChildren(
      h("section", {}, h("p", {}, "This account is not an admin: there is nothing to show.")),
    );
    return;
  }
  nav.replaceChildren(
    ...(Object.keys(PAGES) as PageName[]).map((name) =>
      h("button", {
        type: "button",
        ...(name === page ? { "aria-current": "page" } : {}),
        onclick: () => show(name),
      }, name)
    ),
    who,
  );
  app.replaceChildren(PAGES[page](client));
}

show();
