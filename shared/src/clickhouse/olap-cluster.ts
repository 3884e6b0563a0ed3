// The same OLAP schema on a replicated ClickHouse cluster: every statement of the numbered
// migration files is rendered `ON CLUSTER '<name>'` (ClickHouse runs it on every replica through
// its distributed DDL queue in Keeper), and every *MergeTree engine becomes its Replicated*
// twin with the same parameters, so _version/_deleted keep their meaning. Without a cluster
// name nothing here runs and the files are sent exactly as written.

/** Where a replicated table keeps its state in Keeper, and the replica's name (server macros). */
export const REPLICA_PATH = "/clickhouse/tables/{shard}/{database}/{table}";
export const REPLICA_NAME = "{replica}";

const CLUSTER_NAME = /^[A-Za-z0-9_.-]+$/;
// An object name: `{database}.table`, `{database}_seed.view`, `db.t`, up to a space or "(".
const NAME = String.raw`[^\s(]+`;

// Where `ON CLUSTER` goes: right after the object's name, which follows the statement's kind
// and an optional IF [NOT] EXISTS. These are the shapes loadOlapMigrations accepts.
const OBJECT_STATEMENTS = [
  new RegExp(
    String.raw`^(CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?(?:TABLE|DATABASE|VIEW|MATERIALIZED\s+VIEW|LIVE\s+VIEW|DICTIONARY)(?:\s+IF\s+NOT\s+EXISTS)?\s+${NAME})`,
    "i",
  ),
  new RegExp(String.raw`^(CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION(?:\s+IF\s+NOT\s+EXISTS)?\s+${NAME})`, "i"),
  new RegExp(
    String.raw`^((?:DROP|TRUNCATE)\s+(?:TABLE|DATABASE|VIEW|DICTIONARY|FUNCTION)(?:\s+IF\s+EXISTS)?\s+${NAME})`,
    "i",
  ),
  new RegExp(String.raw`^(ALTER\s+TABLE\s+${NAME})`, "i"),
];

// ENGINE = <Prefix>MergeTree: the family of table engines that have a Replicated twin.
const ENGINE = /\bENGINE\s*=\s*(?!Replicated)([A-Za-z]*)MergeTree\b/gi;

// non_replicated_deduplication_window turns on, for plain MergeTree, what Replicated tables do by
// default (replicated_deduplication_window, kept in Keeper): on a cluster it has nothing to do.
const NON_REPLICATED_SETTING = /\bnon_replicated_deduplication_window\s*=\s*\d+/i;

export function assertClusterName(cluster: string): void {
  if (!CLUSTER_NAME.test(cluster))
    throw new Error(
      `invalid ClickHouse cluster name ${JSON.stringify(cluster)}: letters, digits, '_', '-', '.'`,
    );
}

/** The statement's object name with `ON CLUSTER` after it; throws for a statement it does not know. */
function onCluster(statement: string, cluster: string): string {
  for (const shape of OBJECT_STATEMENTS) {
    const match = shape.exec(statement);
    if (match) {
      const head = match[1] as string;
      return `${head} ON CLUSTER '${cluster}'${statement.slice(head.length)}`;
    }
  }
  throw new Error(
    `cannot render for a cluster (unknown statement shape; teach shared/src/clickhouse/olap-cluster.ts): ${statement.slice(0, 80)}`,
  );
}

function replicatedEngine(statement: string): string {
  let out = "";
  let from = 0;
  for (const match of statement.matchAll(ENGINE)) {
    let end = match.index + match[0].length;
    let args = "";
    let open = end;
    while (/\s/.test(statement[open] ?? "")) open++;
    if (statement[open] === "(") {
      // The parameters up to the matching parenthesis (they may hold tuples or function calls).
      let depth = 0;
      let i = open;
      for (; i < statement.length; i++) {
        if (statement[i] === "(") depth++;
        else if (statement[i] === ")" && --depth === 0) break;
      }
      if (depth !== 0)
        throw new Error(`unbalanced engine parameters: ${statement.slice(match.index, match.index + 80)}`);
      args = statement.slice(open + 1, i).trim();
      end = i + 1;
    }
    const params = [`'${REPLICA_PATH}'`, `'${REPLICA_NAME}'`, ...(args ? [args] : [])];
    out += `${statement.slice(from, match.index)}ENGINE = Replicated${match[1]}MergeTree(${params.join(", ")})`;
    from = end;
  }
  return out + statement.slice(from);
}

function withoutNonReplicatedSetting(statement: string): string {
  const settings = /\bSETTINGS\s+([^;]*)$/i.exec(statement);
  if (!settings || !NON_REPLICATED_SETTING.test(settings[1] as string)) return statement;
  const kept = (settings[1] as string)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s && !NON_REPLICATED_SETTING.test(s));
  const before = statement.slice(0, settings.index).trimEnd();
  return kept.length > 0 ? `${before}\nSETTINGS ${kept.join(", ")}` : before;
}

/**
 * One migration statement for a replicated cluster: `ON CLUSTER '<cluster>'` after the object's
 * name (after the last name of a `RENAME TABLE`), Replicated*MergeTree engines with the same
 * parameters, and without the setting that only plain MergeTree needs; an `INSERT INTO ... SELECT`
 * unchanged. `{database}` stays in place for
 * the migrator to fill in.
 */
export function renderForCluster(statement: string, cluster: string): string {
  assertClusterName(cluster);
  // RENAME names its objects first and takes ON CLUSTER after the last of them.
  if (/^RENAME\s+TABLE\s/i.test(statement.trim())) return `${statement.trim()} ON CLUSTER '${cluster}'`;
  // A migration's copy (INSERT INTO ... SELECT) runs once, on the replica the migrator talks to:
  // the replicated table it writes carries the parts to the other replicas.
  if (/^INSERT\s+INTO\s+\S+\s+SELECT\s/i.test(statement.trim())) return statement.trim();
  return withoutNonReplicatedSetting(replicatedEngine(onCluster(statement.trim(), cluster)));
}
