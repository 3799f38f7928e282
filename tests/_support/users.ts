// Arranging users, funds and stakes on the real stack (superuser connection for setup only; the
// behaviour under test always goes through the RPCs).
import type postgres from "postgres";

/** Creates n users with funded wallets and one active stake each, set-based, in one transaction. */
export async function usersWithStakes(
  sql: postgres.Sql,
  n: number,
  opts: { stake: string; createdAt: string; tag: string },
): Promise<{ userIds: string[]; stakeIds: string[] }> {
  return await sql.begin(async (tx) => {
    const users = await tx<{ id: string }[]>`
      insert into auth.users (email)
      select ${opts.tag} || '-' || g || '@load.test' from generate_series(1, ${n}) g
      returning id`;
    const ids = users.map((u) => u.id);
    // Funding and staking through the RPCs, as the service and as each user.
    await tx`
      select public.credit_funded_wallet(u, ${opts.stake}::numeric, ${opts.tag} || ':' || u)
        from unnest(${ids}::uuid[]) u`;
    // create_stake acts for auth.uid(): a session-local helper sets each user's claims first.
    await tx.unsafe(`
      create function pg_temp.stake_as(p_user uuid, p_amount numeric) returns jsonb
      language plpgsql as $$
      begin
        perform set_config('request.jwt.claims',
          json_build_object('sub', p_user, 'role', 'authenticated')::text, true);
        return public.create_stake(p_amount);
      end $$`);
    const stakes = await tx<{ stake_id: string }[]>`
      select pg_temp.stake_as(u, ${opts.stake}::numeric) ->> 'stake_id' as stake_id
        from unnest(${ids}::uuid[]) u`;
    await tx`select set_config('request.jwt.claims', '', true)`;
    const stakeIds = stakes.map((s) => s.stake_id);
    await tx`update app.stakes set created_at = ${opts.createdAt}::timestamptz where id = any(${stakeIds}::uuid[])`;
    return { userIds: ids, stakeIds };
  });
}
