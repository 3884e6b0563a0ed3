import { timingSafeEqual } from "node:crypto";
import type { Connection } from "./engine.ts";
import { type Exception, exception } from "./exception.ts";
import { preparationStatements, type QueryRequest } from "./http-request.ts";

/** One privilege as ClickHouse grants it: `GRANT <privilege> ON <database>.<table>` (`*` for all). */
export interface Grant {
  privilege:
    | "ALL"
    | "SELECT"
    | "INSERT"
    | "ALTER DELETE"
    | "ALTER ADD COLUMN"
    | "ALTER MODIFY COLUMN"
    | "CREATE VIEW"
    | "DROP VIEW";
  database: string;
  table: string;
}

/**
 * A user of the embedded server. clickhouse-local cannot run a query as another user (no
 * impersonation, no writable access storage), so this HTTP layer enforces what the grants mean
 * for writes: a user with `ALL ON *.*` is unrestricted; any other user may INSERT only into the
 * tables it holds INSERT on, DELETE FROM (lightweight) only the tables it holds ALTER DELETE on,
 * ALTER TABLE ... ADD/MODIFY COLUMN only where it holds ALTER ADD/MODIFY COLUMN, CREATE [OR
 * REPLACE] VIEW only where it holds CREATE VIEW (and DROP VIEW to replace one),
 * and every other statement of its runs with the engine's `readonly`
 * setting (`readonly`, default 2), so the engine itself refuses DDL, ALTER and any hidden write;
 * no statement of its may call a function that reads beyond the tables (`file`, `url`, ...).
 * SELECT grants are recorded but not checked table by table: a restricted user reads every table.
 */
export interface EmbeddedUser {
  password: string;
  grants: Grant[];
  /** ClickHouse's `readonly` for its non-INSERT statements: 1 also forbids changing settings. */
  readonly?: 1 | 2;
}

export type EmbeddedUsers = Readonly<Record<string, EmbeddedUser>>;

/** The owner: `GRANT ALL ON *.*`. */
export const ownerUser = (password: string): EmbeddedUser => ({
  password,
  grants: [{ privilege: "ALL", database: "*", table: "*" }],
});

export const isOwner = (user: EmbeddedUser) =>
  user.grants.some((g) => g.privilege === "ALL" && g.database === "*" && g.table === "*");

const covers = (g: Grant, privilege: Grant["privilege"], database: string, table: string) =>
  (g.privilege === "ALL" || g.privilege === privilege) &&
  (g.database === "*" || g.database === database) &&
  (g.table === "*" || g.table === table);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The user these credentials name, or ClickHouse's AUTHENTICATION_FAILED. */
export function authenticate(
  users: EmbeddedUsers,
  name: string,
  password: string,
  version: string,
): { user: EmbeddedUser } | { denied: Exception } {
  const user = Object.hasOwn(users, name) ? users[name] : undefined;
  if (user && sameSecret(user.password, password)) return { user };
  return {
    denied: exception(
      516,
      "AUTHENTICATION_FAILED",
      `${name}: Authentication failed: password is incorrect, or there is no user with such name`,
      version,
    ),
  };
}

const quote = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/**
 * Functions that reach beyond the server's tables: the machine's files, other servers, programs.
 * A server requires a grant for each (`READ ON FILE`, `READ ON URL`, ...); no adpipe user holds one.
 */
const SOURCE_FUNCTION =
  /^\s*Function (file|url|s3|gcs|oss|cos|hdfs|remote|remoteSecure|cluster|clusterAllReplicas|mysql|postgresql|sqlite|mongodb|redis|jdbc|odbc|executable|executablePool|azureBlobStorage|iceberg\w*|deltaLake\w*|hudi\w*|paimon\w*)(Cluster)?( |$)/i;

/**
 * Statements a restricted user may send to the engine, by the root of their syntax tree: reads
 * (SELECT, SHOW, DESCRIBE, EXISTS, EXPLAIN), settings and the current database, INSERT (decided
 * by its grants), and the writes the engine's `readonly` refuses with READONLY as a server does
 * (CREATE, ALTER, DROP, RENAME, TRUNCATE, DELETE, UPDATE, OPTIMIZE, ATTACH, DETACH). Everything
 * else needs a grant no adpipe user holds and is ACCESS_DENIED here: KILL QUERY (`readonly` lets
 * it through, and the reader must not cancel the loader's inserts), SYSTEM, BACKUP/RESTORE,
 * UNDROP, CHECK, WATCH, GRANT and user management.
 */
const RESTRICTED_STATEMENTS =
  /^(SelectWithUnionQuery|SelectIntersectExceptQuery|Show|SHOW |Describe|Exists|Explain |Set$|UseQuery|InsertQuery|CreateQuery|CreateSQLFunctionQuery|AlterQuery|DropQuery|Rename|TruncateQuery|DeleteQuery|UpdateQuery|OptimizeQuery|AttachQuery|DetachQuery)/;

/** The grant a server asks for, by statement, in the refusal's message. */
function grantFor(root: string): string {
  if (root.startsWith("KillQuery")) return "KILL QUERY ON *.*";
  if (root.startsWith("SYSTEM")) return "SYSTEM ON *.*";
  return `${root.replace(/Query.*$|\s.*$/, "").toUpperCase() || "THIS STATEMENT"} ON *.*`;
}

/** String literals and quoted identifiers out of formatted SQL, so only its keywords remain. */
const keywordsOf = (formatted: string) =>
  formatted
    .replace(/'(?:[^'\\]|\\.)*'/g, "''")
    .replace(/`(?:[^`\\]|\\.)*`/g, "``")
    .replace(/"(?:[^"\\]|\\.)*"/g, '""');

interface Statement {
  /** The root of the statement's syntax tree (`SelectWithUnionQuery`, `KillQueryQuery ...`). */
  root: string;
  /** An INSERT's target table, `"function"` for INSERT INTO FUNCTION, undefined for any other statement. */
  insert?: { database: string; table: string } | "function";
  /** A lightweight DELETE's target table. */
  delete?: { database: string; table: string };
  /** An ALTER TABLE's target and its commands (`ADD_COLUMN`, `MODIFY_COLUMN`, ...). */
  alter?: { database: string; table: string; commands: string[] };
  /** A plain view a CREATE [OR REPLACE] VIEW makes. */
  view?: { database: string; table: string; replace: boolean };
  /** The first function the statement calls that reads outside the server's tables. */
  source?: string;
  /**
   * `INTO OUTFILE` (clickhouse-local writes the file, even under `readonly`) or `FROM INFILE`
   * (reads one): client-side features a server refuses over HTTP.
   */
  localFile?: "INTO OUTFILE" | "FROM INFILE";
}

/**
 * What one statement does, read by the engine's own parser: `formatQuerySingleLine` refuses a
 * second statement (chDB would run it), `EXPLAIN AST` names an INSERT's target and every function
 * called. Run on the request's connection after its query parameters are set (EXPLAIN
 * substitutes them).
 */
async function classify(connection: Connection, sql: string, currentDatabase: string): Promise<Statement> {
  const formatted = (
    await connection.session.queryAsync(`SELECT formatQuerySingleLine(${quote(sql)})`, { format: "TSVRaw" })
  ).text();
  const keywords = keywordsOf(formatted);
  const localFile: Statement["localFile"] = /\bINTO\s+OUTFILE\b/i.test(keywords)
    ? "INTO OUTFILE"
    : /\bFROM\s+INFILE\b/i.test(keywords)
      ? "FROM INFILE"
      : undefined;
  const ast = (await connection.session.queryAsync(`EXPLAIN AST ${sql}`, { format: "TSVRaw" })).text();
  const lines = ast.split("\n");
  const root = lines[0] ?? "";
  const source = lines.map((line) => SOURCE_FUNCTION.exec(line)?.[1]).find(Boolean);
  // `DeleteQuery <database> <table>` (the database empty when the statement names none).
  const del = /^DeleteQuery (\S*) (\S+)/.exec(root);
  if (del)
    return {
      root,
      source,
      localFile,
      delete: { database: del[1] || currentDatabase, table: del[2] as string },
    };
  const alter = /^AlterQuery (\S*) (\S+) \(/.exec(root);
  if (alter) {
    const commands = lines.flatMap((line) => /^ {2}AlterCommand (\w+)/.exec(line)?.[1] ?? []);
    return {
      root,
      source,
      localFile,
      alter: { database: alter[1] || currentDatabase, table: alter[2] as string, commands },
    };
  }
  const create = /^CreateQuery (\S+)(?: (\S+))? \(/.exec(root);
  const view = /^CREATE (OR REPLACE )?VIEW /.exec(keywords);
  if (create && view) {
    const [database, table] = create[2]
      ? [create[1] as string, create[2]]
      : [currentDatabase, create[1] as string];
    return { root, source, localFile, view: { database, table, replace: Boolean(view[1]) } };
  }
  if (!root.startsWith("InsertQuery")) return { root, source, localFile };
  // The target is the InsertQuery's leading identifiers: `[database,] table`, or a table function.
  const names: string[] = [];
  for (const line of lines.slice(1)) {
    const m = /^ Identifier (.+)$/.exec(line);
    if (!m?.[1]) break;
    names.push(m[1]);
  }
  const base = { root, source, localFile };
  if (names.length === 1)
    return { ...base, insert: { database: currentDatabase, table: names[0] as string } };
  if (names.length === 2)
    return { ...base, insert: { database: names[0] as string, table: names[1] as string } };
  return { ...base, insert: "function" };
}

const denied = (name: string, grant: string, version: string): { denied: Exception } => ({
  denied: exception(
    497,
    "ACCESS_DENIED",
    `${name}: Not enough privileges. To execute this query, it's necessary to have the grant ${grant}`,
    version,
  ),
});

/**
 * Decides one statement of a restricted user before it runs: a statement kind it may not run
 * (KILL QUERY, SYSTEM, ...), a local file or a source function is ACCESS_DENIED; an INSERT into a
 * table the user may insert into runs as it is (`readonly` undefined); an INSERT anywhere else is
 * ACCESS_DENIED as on a server; any other statement runs with the user's `readonly`, which the
 * engine enforces.
 * Callers skip the owner (`isOwner`), whose statements run as they are.
 */
export async function authorize(
  connection: Connection,
  name: string,
  user: EmbeddedUser,
  statement: string,
  options: { currentDatabase: string; version: string },
): Promise<{ readonly?: 1 | 2 } | { denied: Exception }> {
  const parsed = await classify(connection, statement, options.currentDatabase);
  if (!RESTRICTED_STATEMENTS.test(parsed.root)) return denied(name, grantFor(parsed.root), options.version);
  if (parsed.localFile)
    return denied(
      name,
      `${parsed.localFile === "INTO OUTFILE" ? "WRITE" : "READ"} ON FILE (${parsed.localFile})`,
      options.version,
    );
  if (parsed.source) return denied(name, `READ ON ${parsed.source.toUpperCase()}`, options.version);
  const doomed = parsed.delete;
  // A DELETE FROM a table the user holds ALTER DELETE on runs as it is; any other runs under
  // `readonly`, which the engine refuses.
  if (doomed && user.grants.some((g) => covers(g, "ALTER DELETE", doomed.database, doomed.table))) return {};
  const schema = schemaDecision(name, user, parsed, options.version);
  if (schema) return schema;
  const target = parsed.insert;
  if (target === undefined) return { readonly: user.readonly ?? 2 };
  if (target === "function") return denied(name, "INSERT ON a table function", options.version);
  if (user.grants.some((g) => covers(g, "INSERT", target.database, target.table))) return {};
  return denied(name, `INSERT ON ${target.database}.${target.table}`, options.version);
}

/** The privilege each ALTER command needs, for the commands a grant here can cover. */
const ALTER_PRIVILEGES: Record<string, Grant["privilege"]> = {
  ADD_COLUMN: "ALTER ADD COLUMN",
  MODIFY_COLUMN: "ALTER MODIFY COLUMN",
};

/**
 * An ALTER of columns or a CREATE VIEW: runs as it is when the user's grants cover it, is
 * ACCESS_DENIED naming the first missing grant when they do not; undefined for other statements.
 */
function schemaDecision(
  name: string,
  user: EmbeddedUser,
  parsed: Statement,
  version: string,
): { denied: Exception } | Record<string, never> | undefined {
  const holds = (privilege: Grant["privilege"], on: { database: string; table: string }) =>
    user.grants.some((g) => covers(g, privilege, on.database, on.table));
  if (parsed.alter) {
    const on = parsed.alter;
    for (const command of on.commands) {
      const privilege = ALTER_PRIVILEGES[command];
      if (!privilege) return undefined; // left to `readonly`, which refuses it
      if (!holds(privilege, on)) return denied(name, `${privilege} ON ${on.database}.${on.table}`, version);
    }
    return on.commands.length > 0 ? {} : undefined;
  }
  if (parsed.view) {
    const on = parsed.view;
    const needed: Grant["privilege"][] = on.replace ? ["CREATE VIEW", "DROP VIEW"] : ["CREATE VIEW"];
    const missing = needed.find((p) => !holds(p, on));
    return missing ? denied(name, `${missing} ON ${on.database}.${on.table}`, version) : {};
  }
  return undefined;
}

/**
 * Prepares a restricted user's connection for `statement` once its defaults and query parameters
 * are set: decides it (above), sets `readonly` when it must not write (a GET never writes), then
 * applies the request's own settings under that `readonly`, so the engine refuses any change a
 * read-only user may not make. Returns the refusal, if any.
 */
export async function restrict(
  connection: Connection,
  name: string,
  user: EmbeddedUser,
  request: QueryRequest,
  statement: string,
  version: string,
): Promise<Exception | undefined> {
  const decision = await authorize(connection, name, user, statement, {
    currentDatabase: request.database ?? "default",
    version,
  });
  if ("denied" in decision) return decision.denied;
  const readonly = decision.readonly ?? (request.readonly ? 2 : undefined);
  if (readonly) await connection.session.queryAsync(`SET readonly = ${readonly}`);
  const own = preparationStatements({ ...request, params: {}, database: undefined, readonly: false }, {});
  for (const s of own.statements) await connection.session.queryAsync(s);
  return undefined;
}
