// The reporter's public entry (`@adpipe/reporter`): what other packages, tests and benchmarks
// may use (`@adpipe/reporter/testing` and `/truth` for the test harness and the truth checks).
// `src/index.ts` is the process; nothing outside this package imports its `src/`.
export { addVerifyBadgeRoute } from "./dashboard-verify.ts";
export { serveReportsRebuild } from "./rebuild-subject.ts";
