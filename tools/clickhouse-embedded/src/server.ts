import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@adpipe/shared/logger";
import { authenticate, type EmbeddedUsers, isOwner, ownerUser, restrict } from "./access.ts";
import { refusedAccessStatement } from "./access-statements.ts";
import { type BrowserPolicy, browserGuard } from "./browser-guard.ts";
import { compressed, decodedBody, framed, responseEncoding } from "./compression.ts";
import { type Connection, type Engine, openEngine, SERVER_DEFAULTS } from "./engine.ts";
import { exception, toException } from "./exception.ts";
import { parseQueryRequest, preparationStatements, type QueryRequest } from "./http-request.ts";
import { insertStream, splitInsert } from "./insert-stream.ts";
import { unexpected, uriTooLong } from "./limits.ts";
import { formFields } from "./multipart.ts";
import { watchProgress } from "./progress.ts";
import { runningQueries } from "./queries.ts";
import { outcomeOf, queryLog, type Trace } from "./query-log.ts";
import { errorResponse, headers, type ResponseMeta } from "./response.ts";
import { runQuery } from "./run-query.ts";
import { httpSessions } from "./sessions.ts";

export interface EmbeddedServerOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Loopback unless asked otherwise: the server is for this machine. */
  host?: string;
  /** The owner (every right); `default` unless named. */
  user?: string;
  /** The owner's password: required, unless `insecure`. */
  password?: string;
  /**
   * Development only, never a default: lets the owner have no password, so anyone who can
   * reach the port runs any query as the owner. The server says so loudly at start.
   */
  insecure?: boolean;
  /** More users beside the owner (`user`, all rights), with their grants (access.ts). */
  users?: EmbeddedUsers;
  /** Host names and browser tools' origins let in besides this machine's (browser-guard.ts). */
  browser?: Omit<BrowserPolicy, "listenHost">;
  logger?: Logger;
}

/** A server that cannot be started as asked: the message says what to set. */
export class EmbeddedSetupError extends Error {
  override readonly name = "EmbeddedSetupError";
}

export interface EmbeddedServer {
  url: string;
  port: number;
  version: string;
  /** Stops accepting, lets running requests finish (up to `graceMs`), then closes the engine. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * ClickHouse's HTTP interface over an embedded chDB engine. Each request runs on a connection of
 * its own, so requests run in parallel (the engine schedules them on its threads, as a server
 * does); what waits is what waits on a server too: DDL on one table, merges, the CPU.
 */
export function startEmbeddedServer(options: EmbeddedServerOptions): EmbeddedServer {
  const owner = options.user ?? "default";
  if (!options.password && !options.insecure)
    throw new EmbeddedSetupError(
      `no password for the owner ${JSON.stringify(owner)}: set CLICKHOUSE_PASSWORD (or --password), or pass --insecure for a development server anyone on this machine may use`,
    );
  const engine: Engine = openEngine(options.dataDir);
  // Beside the data (same disk), and emptied at start: a killed server's spool files go with it.
  const spoolDir = join(engine.path, "http-spool");
  rmSync(spoolDir, { recursive: true, force: true });
  mkdirSync(spoolDir);
  const users: EmbeddedUsers = {
    ...options.users,
    [owner]: ownerUser(options.password ?? ""),
  };
  const log = options.logger;
  const base = { timezone: engine.timezone, displayName: "adpipe-embedded" };
  const { version } = engine;
  const queries = runningQueries(version);
  const sessions = httpSessions(engine, version);
  const queryLogs = queryLog(spoolDir, version);
  const guard = browserGuard({ ...options.browser, listenHost: options.host ?? "127.0.0.1" }, version);

  async function handleQuery(req: Request, url: URL, form: boolean): Promise<Response> {
    const trace: Trace = {};
    const response = await runRequest(req, url, form, trace);
    trace.response = response;
    if (trace.logged && !trace.handedOff) trace.logged.ended(await outcomeOf(response));
    return response;
  }

  async function runRequest(req: Request, url: URL, form: boolean, trace: Trace): Promise<Response> {
    const request: QueryRequest = parseQueryRequest(req, url);
    const meta: ResponseMeta = {
      ...base,
      queryId: request.queryId,
      format: request.defaultFormat ?? "TabSeparated",
      progress: ["1", "true"].includes(request.settings.send_progress_in_http_headers ?? ""),
    };
    const auth = authenticate(users, request.user, request.password, version);
    if ("denied" in auth) return errorResponse(auth.denied, meta);
    const logged = queryLogs.begin({
      queryId: request.queryId,
      user: request.user,
      database: request.database ?? "default",
      method: req.method,
      userAgent: req.headers.get("user-agent") ?? "",
    });
    trace.logged = logged;
    const decoded =
      req.method === "POST" && !form
        ? decodedBody(req, url, version)
        : { body: null, framingFault: () => undefined };
    if ("refused" in decoded) return errorResponse(decoded.refused, meta);
    const prep = preparationStatements(request, SERVER_DEFAULTS);
    if (prep.invalid)
      return errorResponse(exception(115, "UNKNOWN_SETTING", `Unknown ${prep.invalid}`, version), meta);
    const owner = isOwner(auth.user);
    const running = queries.start(request.queryId, request.user);
    if ("refused" in running) return errorResponse(running.refused, meta);
    // Sessions are for users with every right: a restricted user's connection gets a `readonly`
    // for each statement, which could not be taken back; and a GET's `readonly` neither.
    const sessionId = owner && req.method === "POST" ? request.sessionId : undefined;
    let connection: Connection;
    let endConnection: () => unknown;
    let statements: string[];
    if (sessionId) {
      const defaults = preparationStatements(
        { ...request, settings: {}, params: {}, database: undefined },
        SERVER_DEFAULTS,
      );
      const got = await sessions
        .acquire(request.user, sessionId, {
          timeout: request.sessionTimeout,
          check: request.sessionCheck,
          settings: Object.keys(request.settings),
          database: request.database,
          onOpen: async (c) => {
            for (const statement of defaults.statements) await c.session.queryAsync(statement);
          },
        })
        .catch((err) => ({ refused: toException(err, version) }));
      if ("refused" in got) {
        running.done();
        return errorResponse(got.refused, meta);
      }
      connection = got.lease.connection;
      endConnection = () => got.lease.release();
      statements = preparationStatements(request, {}).statements;
    } else {
      connection = engine.connect();
      endConnection = () => connection.close();
      // A restricted user's own settings wait until its statement is decided (access.ts).
      statements = owner
        ? prep.statements
        : preparationStatements({ ...request, settings: {}, readonly: false }, SERVER_DEFAULTS).statements;
    }
    const watch = meta.progress
      ? watchProgress(engine, running.token, request.settings.http_headers_progress_interval_ms)
      : undefined;
    if (watch) meta.snapshots = watch.snapshots;
    let removeSnapshot = () => {};
    // Awaited before the answer goes out: a session is free again when its client has the answer.
    const release = async () => {
      await watch?.stop();
      await endConnection();
      running.done();
      removeSnapshot();
      if (trace.handedOff) logged.ended(await outcomeOf(trace.response, trace.streamFailure));
    };
    const allowed = (statement: string) =>
      owner ? undefined : restrict(connection, request.user, auth.user, request, statement, version);
    let handedOff = false;
    try {
      for (const statement of statements) await connection.session.queryAsync(statement);
      const body = decoded.body;
      const insert = body ? splitInsert(request.urlQuery) : undefined;
      if (insert) {
        const denied = await allowed(`${insert.target} FORMAT ${insert.format}`);
        if (denied) return errorResponse(denied, meta);
        const started = process.hrtime.bigint();
        // As a server logs it: the URL's SQL, then the newline that joins it to the body's data.
        logged.started(`${request.urlQuery}\n`);
        const result = await insertStream(connection, insert, body, spoolDir, running.marker);
        const elapsed = Number(process.hrtime.bigint() - started);
        return new Response(null, {
          headers: headers(meta, {
            written_rows: result.rows,
            written_bytes: result.writtenBytes,
            read_rows: result.rows,
            read_bytes: result.bytes,
            elapsed_ns: elapsed,
          }),
        });
      }
      const bodyText = body ? await new Response(body).text() : "";
      const sql =
        request.urlQuery && bodyText ? `${request.urlQuery}\n${bodyText}` : request.urlQuery || bodyText;
      if (!sql.trim()) return errorResponse(exception(62, "SYNTAX_ERROR", "Empty query", version), meta);
      const managing = refusedAccessStatement(sql, version);
      if (managing) return errorResponse(managing, meta);
      const snapshot = queryLogs.mentions(sql) ? queryLogs.snapshot(sql, owner) : { sql };
      if ("refused" in snapshot) return errorResponse(snapshot.refused, meta);
      removeSnapshot = "remove" in snapshot ? snapshot.remove : removeSnapshot;
      const denied = await allowed(snapshot.sql);
      if (denied) return errorResponse(denied, meta);
      logged.started(sql);
      const killed = await queries.kill(sql, connection, meta.format);
      if (killed) return new Response(killed.byteLength ? killed : null, { headers: headers(meta, {}) });
      const response = await runQuery(snapshot.sql, {
        connection,
        meta,
        waitEndOfQuery: request.waitEndOfQuery,
        version,
        release,
        onStream: running.onStream,
        marker: running.marker,
        spoolDir,
        onStreamFailure: (ex) => {
          trace.streamFailure = ex;
        },
      });
      handedOff = response.handedOff;
      trace.handedOff = handedOff;
      return response.response;
    } catch (err) {
      const ex = decoded.framingFault() ?? toException(err, version);
      if (ex.status >= 500) log?.warn("query failed", { queryId: request.queryId, code: ex.code, err });
      return errorResponse(ex, meta);
    } finally {
      if (!handedOff) await release();
    }
  }

  async function answer(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === "OPTIONS") return new Response(null, { status: 204 });
    const tooLong = uriTooLong(url, version);
    if (tooLong) return errorResponse(tooLong, base);
    if (
      url.pathname === "/ping" ||
      (url.pathname === "/" && req.method === "GET" && !url.searchParams.has("query"))
    )
      return new Response("Ok.\n", { headers: { "Content-Type": "text/html; charset=UTF-8" } });
    if (url.pathname !== "/") {
      const ex = exception(0, "UNKNOWN_HANDLER", `There is no handle ${url.pathname}`, version);
      return errorResponse({ ...ex, status: 404 }, base);
    }
    const form = await formFields(req, url, version);
    if (form && "refused" in form) return errorResponse(form.refused, base);
    const queryUrl = form?.url ?? url;
    const response = framed(await handleQuery(req, queryUrl, form !== undefined), queryUrl);
    // Errors too: a server writes its exception through the same compressed output.
    const encoding = responseEncoding(req, queryUrl);
    return encoding ? compressed(response, encoding) : response;
  }

  const server = Bun.serve({
    hostname: options.host ?? "127.0.0.1",
    port: options.port ?? 8123,
    // Long queries and big inserts are normal here; the defaults (10 s idle, 128 MB bodies) are not.
    idleTimeout: 0,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    async fetch(req) {
      const refused = guard.check(req);
      if (refused) return errorResponse(refused, base);
      const response = await answer(req);
      for (const [name, value] of Object.entries(guard.cors(req))) response.headers.set(name, value);
      return response;
    },
    // Whatever a handler throws is answered the way ClickHouse answers errors (code and text).
    error(err) {
      log?.warn("request failed", { err });
      return errorResponse(unexpected(err, version), base);
    },
  });
  const port = server.port ?? 0;
  log?.info("embedded ClickHouse listening", { url: server.url.href, dataDir: engine.path, version });

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${server.hostname}:${port}`,
    port,
    version,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        const graceful = server.stop(false);
        const timer = setTimeout(() => server.stop(true), graceMs);
        await graceful;
        clearTimeout(timer);
        sessions.closeAll();
        engine.close();
        rmSync(spoolDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
