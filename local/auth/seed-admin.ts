// The local stack's admin: a Supabase Auth user with a bcrypt password, app_metadata.role admin and
// a verified TOTP factor, so the console's sign-in works on a fresh stack. Local development
// values, like the stack's keys; stack.json carries them.
export const LOCAL_ADMIN = {
  email: "admin@payout.local",
  password: "local-admin-password",
  // base32, 160 bits: what an authenticator app would be given when enrolling.
  totpSecret: "KRSXG5CQMF4W65LUKNSWGZLUIFSG22LO",
};

/** Idempotent SQL that creates (or resets) the admin and its factor. */
export function seedAdminSql(): string {
  const { email, password, totpSecret } = LOCAL_ADMIN;
  return `
    insert into auth.users (email, encrypted_password, email_confirmed_at, raw_app_meta_data)
    values ('${email}', extensions.crypt('${password}', extensions.gen_salt('bf', 10)), now(),
            '{"role": "admin"}')
    on conflict (email) do update
       set encrypted_password = excluded.encrypted_password,
           raw_app_meta_data = excluded.raw_app_meta_data;
    insert into auth.mfa_factors (user_id, friendly_name, status, secret)
    select u.id, 'authenticator', 'verified', '${totpSecret}' from auth.users u
     where u.email = '${email}'
       and not exists (select 1 from auth.mfa_factors f where f.user_id = u.id and f.secret = '${totpSecret}');`;
}
