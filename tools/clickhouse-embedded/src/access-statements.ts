import { type Exception, exception } from "./exception.ts";

/** SQL that manages users, roles and grants: `CREATE USER`, `GRANT`, `SET ROLE`, ... */
const ACCESS_SQL =
  /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*((?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?(?:USER|ROLE|ROW\s+POLICY|POLICY|QUOTA|SETTINGS\s+PROFILE|PROFILE)|GRANT|REVOKE|SET\s+(?:DEFAULT\s+)?ROLE)\b/i;

/**
 * Refuses statements that manage users, roles and grants, saying why and what to do. chDB is
 * clickhouse-local: it has no writable access storage, and its own answer (ACCESS_DENIED, "it's
 * necessary to have the grant CREATE USER", to the owner who holds every grant the engine has)
 * misleads. The server's users come from its start, and a user made here could not be kept or
 * enforced the way ClickHouse does (access.ts).
 */
export function refusedAccessStatement(sql: string, version: string): Exception | undefined {
  const statement = ACCESS_SQL.exec(sql)?.[1];
  if (!statement) return undefined;
  const what = statement.replace(/\s+/g, " ").toUpperCase();
  return {
    ...exception(
      48,
      "NOT_IMPLEMENTED",
      `${what} is not supported by the embedded server: clickhouse-local has no writable access storage, so users, roles and grants cannot be managed with SQL; the server's users and their grants are given at its start (docs/clickhouse-embedded.md, Users and grants)`,
      version,
    ),
    status: 501,
  };
}
