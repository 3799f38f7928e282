// Builds the operator console into a directory of static files: index.html, style.css, app.js
// (src/main.ts bundled for the browser by `deno bundle`, supabase-js included) and config.js (the
// project's URL and anon key: public values, no secret). The local stack serves the result at
// /console/; for a hosted project:
//   deno run -A console/build.ts --out dist/console --url https://<ref>.supabase.co --anon-key <key>
// and put dist/console on any static host.
import { fileURLToPath } from "node:url";

export type ConsoleConfig = { url: string; anonKey: string };

const here = fileURLToPath(new URL(".", import.meta.url));
const root = fileURLToPath(new URL("..", import.meta.url));

export async function buildConsole(outDir: string, config: ConsoleConfig): Promise<string> {
  await Deno.mkdir(outDir, { recursive: true });
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "-o",
      `${outDir}/app.js`,
      `${here}src/main.ts`,
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`console build failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.copyFile(`${here}style.css`, `${outDir}/style.css`);
  // The same policy on any static host (a meta tag cannot say frame-ancestors: the host's
  // headers must, as the local gateway's do): its own files, and the project's API only.
  const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    `connect-src 'self' ${new URL(config.url).origin}; base-uri 'none'; form-action 'none'`;
  const html = (await Deno.readTextFile(`${here}index.html`)).replace(
    '<meta charset="utf-8">',
    `<meta charset="utf-8">\n    <meta http-equiv="Content-Security-Policy" content="${csp}">`,
  );
  await Deno.writeTextFile(`${outDir}/index.html`, html);
  await Deno.writeTextFile(
    `${outDir}/config.js`,
    `window.PAYOUT_CONSOLE = ${JSON.stringify(config)};\n`,
  );
  return outDir;
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name);
    if (i < 0 || !Deno.args[i + 1]) throw new Error(`missing ${name}`);
    return Deno.args[i + 1];
  };
  const dir = await buildConsole(arg("--out"), { url: arg("--url"), anonKey: arg("--anon-key") });
  console.log(`console built in ${dir}`);
}
