// Supabase Auth's rate limits (its docs, "Rate limits"): a token bucket per endpoint and client IP,
// 30 requests of capacity, refilled at the endpoint's rate (the defaults of Supabase's config.toml
// [auth.rate_limit], per 5 minutes: sign_in_sign_ups 30, token_refresh 150, token_verifications 30).
// A request takes its token in one statement under the bucket's row lock, so concurrent requests
// never get more through than the bucket holds: 40 concurrent guesses, 30 checked.
import type postgres from "postgres";

export type Bucket = "sign_in" | "token_refresh" | "verify";

export const BUCKET_CAPACITY = 30;
const PER_FIVE_MINUTES: Record<Bucket, number> = { sign_in: 30, token_refresh: 150, verify: 30 };

/** Takes one request's token from the caller's bucket: false when it is empty (answer 429). */
export async function takeToken(sql: postgres.Sql, bucket: Bucket, ip: string): Promise<boolean> {
  const perSecond = PER_FIVE_MINUTES[bucket] / 300;
  const rows = await sql`
    insert into auth.local_rate_buckets as b (key, tokens, updated_at)
    values (${`${bucket}:${ip}`}, ${BUCKET_CAPACITY - 1}, clock_timestamp())
    on conflict (key) do update
       set tokens = least(${BUCKET_CAPACITY}::float8, b.tokens + extract(epoch from clock_timestamp() - b.updated_at)::float8 * ${perSecond}::float8) - 1,
           updated_at = clock_timestamp()
     where least(${BUCKET_CAPACITY}::float8, b.tokens + extract(epoch from clock_timestamp() - b.updated_at)::float8 * ${perSecond}::float8) >= 1
    returning tokens`;
  return rows.length === 1;
}
