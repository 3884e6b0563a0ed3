import type pg from "pg";

/** The group roles migration 0006 creates, and what each may do (docs/security.md, "Who may do what"). */
export const PG_GROUPS = { generator: "adpipe_generator", extractor: "adpipe_extractor" } as const;

const identifier = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain role name: ${name}`);
  return `"${name}"`;
};

/**
 * A login user in `group` with `password`, created or updated (password and membership) so a
 * rerun converges. Needs a role allowed to create roles and to grant `group` (the owner).
 */
export async function ensureLoginUser(
  client: Pick<pg.Client, "query">,
  user: string,
  password: string,
  group: string,
): Promise<void> {
  const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [user]);
  // Passwords cannot be bound parameters in CREATE/ALTER ROLE; quote them as literals.
  const literal = `'${password.replaceAll("'", "''")}'`;
  if (exists.rowCount === 0)
    await client.query(`CREATE ROLE ${identifier(user)} LOGIN PASSWORD ${literal}`).catch((err) => {
      if ((err as { code?: string }).code !== "42710") throw err;
    });
  await client.query(`ALTER ROLE ${identifier(user)} WITH LOGIN NOSUPERUSER PASSWORD ${literal}`);
  await client.query(`GRANT ${identifier(group)} TO ${identifier(user)}`);
}
