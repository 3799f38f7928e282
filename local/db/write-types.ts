// `npm run db:types`: regenerates supabase/functions/_shared/database.types.ts from a database
// built from the migrations.
import { pushMigrations } from "./cli.ts";
import { scratchCluster } from "./scratch.ts";
import { generatedTypes, TYPES_FILE } from "./types.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const db = await scratchCluster();
try {
  await pushMigrations(db.url);
  await Deno.writeTextFile(`${root}/${TYPES_FILE}`, await generatedTypes(db.url));
  console.log(`wrote ${TYPES_FILE}`);
} finally {
  await db.stop();
}
