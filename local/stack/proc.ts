// Running commands for the local stack: as the `postgres` OS user when we are root (Postgres
// refuses to run as root), with output captured for a clear error.
export const isRoot = Deno.uid() === 0;

export async function run(
  cmd: string[],
  opts: { asPostgres?: boolean; env?: Record<string, string> } = {},
) {
  const argv = opts.asPostgres && isRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`${cmd.join(" ")} failed (${out.code}):\n${stderr}${stdout}`);
  }
  return stdout;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
