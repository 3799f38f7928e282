// Supabase entry point. The logic lives in handler.ts so the local gateway and tests import it.
import handler from "./handler.ts";

Deno.serve(handler.fetch);
