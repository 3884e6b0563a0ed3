// The reporter's public entry (`@adpipe/reporter`): what other packages, tests and benchmarks
// may use; the test harness (`@adpipe/testing`, tools/testing) composes a reporter through it.
// `src/index.ts` is the process; nothing outside this package imports its `src/`.
export { createApp } from "./app.ts";
export { addVerifyBadgeRoute } from "./dashboard-verify.ts";
export { createKpis } from "./kpis.ts";
export { createReporterMetrics } from "./metrics.ts";
export { serveReportsRebuild } from "./rebuild-subject.ts";
export { createReporter, type Reporter } from "./reporter.ts";
export { loadQueries, type Queries } from "./sql.ts";
