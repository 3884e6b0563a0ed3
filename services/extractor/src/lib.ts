// The extractor's public entry (`@adpipe/extractor`): what other packages, tests and benchmarks
// may use. `src/index.ts` is the process; nothing outside this package imports its `src/`.
export { createApp as createExtractorApp } from "./app.ts";
export { loadConfig as loadExtractorConfig } from "./config.ts";
export { createExtractor, type Extractor } from "./extractor.ts";
export { createExtractorMetrics } from "./metrics.ts";
export { servePauseRequests } from "./run-subject.ts";
export { createVerifyMetrics } from "./verify/metrics.ts";
export { serveVerifyRun } from "./verify/routes.ts";
export { createVerifier, type Verifier } from "./verify/verifier.ts";
