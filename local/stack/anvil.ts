// anvil from its platform binary (one clean PID; the npm wrapper leaves a node process behind).
import { JsonRpc } from "../../supabase/functions/_shared/json-rpc.ts";

const BIN =
  new URL("../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil", import.meta.url).pathname;

export async function startAnvil(port: number, chainId: number, stateFile: string | null) {
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--chain-id",
    String(chainId),
    "--silent",
    // Room for a whole run in one block. Anvil mines on arrival (automine): a batch larger than
    // one block leaves ready transactions in its pool that no later arrival ever mines (seen as
    // 37-384 of 1,000 transfers "not mined" in benchmark runs). A real chain keeps making blocks;
    // the finality benchmark sets a real chain's 30M limit with interval mining.
    "--gas-limit",
    "1000000000",
  ];
  if (stateFile) args.push("--state", stateFile);
  const child = new Deno.Command(BIN, { args, stdout: "null", stderr: "piped" }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const rpc = new JsonRpc(url, 1000);
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await rpc.call("eth_chainId");
      break;
    } catch {
      if (Date.now() > deadline) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        throw new Error(`anvil did not answer on ${url}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await child.stderr.cancel().catch(() => {});
    },
  };
}
