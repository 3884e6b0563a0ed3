import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { NATS_SERVICES, NATS_USERS, type NatsUser, natsAuthorization } from "@adpipe/shared/nats-permissions";
import { embeddedOlapUsers, OLAP_USERS, type OlapUser, olapUserName } from "@adpipe/shared/olap-roles";
import { ensureLoginUser, PG_GROUPS } from "@adpipe/shared/pg-roles";
import pg from "pg";
import { keptSecret } from "./api-token.ts";

/**
 * Login users for the embedded PostgreSQL, one per service that uses it, in the group roles
 * migration 0006 made; passwords kept under `home`. Returns each service's own DATABASE_URL.
 * `ownerUrl` is the superuser `bun start` migrated with (only `bun start` itself keeps using it).
 */
export async function postgresServiceUrls(home: string, ownerUrl: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const urls: Record<string, string> = {};
    for (const [service, group] of Object.entries(PG_GROUPS)) {
      const user = `${group}_user`;
      const password = keptSecret(home, `postgres-${service}-password`).value;
      await ensureLoginUser(client, user, password, group);
      const url = new URL(ownerUrl);
      url.username = user;
      url.password = password;
      urls[service] = url.toString();
    }
    // The extractor tells foreign transactions from its database's own through pg_stat_activity,
    // which shows other users' sessions only to members of pg_read_all_stats.
    await client.query(`GRANT pg_read_all_stats TO ${PG_GROUPS.extractor}`);
    return urls;
  } finally {
    await client.end();
  }
}

/** Whether the pool's user is a PostgreSQL superuser (`bun start` warns: no service should be). */
export async function isSuperuser(pool: { query: pg.Pool["query"] }): Promise<boolean> {
  const { rows } = await pool.query<{ rolsuper: boolean }>(
    "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
  );
  return rows[0]?.rolsuper === true;
}

/**
 * The config file for `bun start`'s own nats-server: a user per service with only its subjects
 * (shared/src/nats/nats-permissions.ts), passwords kept under `home`. Returns the file, each
 * service's NATS_USER / NATS_PASSWORD (with NATS_PROVISION=false), the provisioner's
 * credentials (`bun start` provisions the streams and consumers as it, before the services), and
 * the admin user for operators.
 */
export function natsUsersConfig(home: string, namespace: string) {
  const passwords = Object.fromEntries(
    [...NATS_USERS, "admin"].map((name) => [name, keptSecret(home, `nats-${name}-password`).value]),
  ) as Record<NatsUser | "admin", string>;
  const file = join(home, "nats-server.conf");
  writeFileSync(file, natsAuthorization(namespace, passwords), { mode: 0o600 });
  const env = Object.fromEntries(
    NATS_SERVICES.map((name) => [
      name,
      { NATS_USER: name, NATS_PASSWORD: passwords[name], NATS_PROVISION: "false" },
    ]),
  ) as Record<string, Record<string, string>>;
  const provisioner = { user: "provisioner", pass: passwords.provisioner };
  return { file, env, provisioner, adminPasswordFile: join(home, "nats-admin-password") };
}

/**
 * The ClickHouse users of `bun start`'s embedded server (shared/src/clickhouse/olap-roles.ts), passwords
 * kept under `home`: the users to start it with, each service's CLICKHOUSE_USER /
 * CLICKHOUSE_PASSWORD (with CLICKHOUSE_MIGRATE=false: `bun start` migrates as the owner), and the
 * read-only user for the status line, Tabix and analysts.
 */
export function clickhouseUsersConfig(home: string, database: string) {
  const secrets = Object.fromEntries(
    OLAP_USERS.map((user) => [user, keptSecret(home, `clickhouse-${user}-password`)]),
  ) as Record<OlapUser, { value: string; file: string }>;
  const passwords = Object.fromEntries(OLAP_USERS.map((u) => [u, secrets[u].value])) as Record<
    OlapUser,
    string
  >;
  const credentials = (user: OlapUser) => ({ user: olapUserName(user), password: passwords[user] });
  const env = Object.fromEntries(
    (["extractor", "loader", "reporter"] as const).map((service) => [
      service,
      {
        CLICKHOUSE_USER: olapUserName(service),
        CLICKHOUSE_PASSWORD: passwords[service],
        CLICKHOUSE_MIGRATE: "false",
      },
    ]),
  ) as Record<string, Record<string, string>>;
  return {
    users: embeddedOlapUsers(database, passwords),
    env,
    reader: { ...credentials("reader"), passwordFile: secrets.reader.file },
  };
}
