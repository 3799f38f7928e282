// Compiles contracts/*.sol with solc-js (standard JSON) into build/<Name>.json {abi, bytecode}.
// OpenZeppelin imports resolve from node_modules, so no network is needed.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const solc = require("solc");
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

const sources = {};
for (const f of fs.readdirSync(path.join(root, "contracts"))) {
  if (f.endsWith(".sol")) {
    sources[f] = { content: fs.readFileSync(path.join(root, "contracts", f), "utf8") };
  }
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
function findImports(p) {
  const file = path.join(root, "node_modules", p);
  return fs.existsSync(file)
    ? { contents: fs.readFileSync(file, "utf8") }
    : { error: `import not found: ${p}` };
}
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (out.errors ?? []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
fs.mkdirSync(path.join(root, "build"), { recursive: true });
for (const [file, contracts] of Object.entries(out.contracts)) {
  if (!Object.hasOwn(sources, file)) continue;
  for (const [name, c] of Object.entries(contracts)) {
    fs.writeFileSync(
      path.join(root, "build", `${name}.json`),
      JSON.stringify({ abi: c.abi, bytecode: "0x" + c.evm.bytecode.object }),
    );
  }
}
