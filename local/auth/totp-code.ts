// Prints the current TOTP code of a base32 secret, for signing in to the local console without an
// authenticator app:  node_modules/.bin/deno run -A local/auth/totp-code.ts <secret>
// (the local admin's secret is admin_totp_secret in stack.json).
import { codeAt, stepAt } from "./totp.ts";

const secret = Deno.args[0] ??
  JSON.parse(await Deno.readTextFile(Deno.env.get("STACK_JSON") ?? ".local/stack.json"))
    .admin_totp_secret;
console.log(codeAt(secret, stepAt(Date.now())));
