// The loader's public entry (`@adpipe/loader`): what other packages, tests and benchmarks may
// use. `src/index.ts` is the process; nothing outside this package imports its `src/`.
export { createDeadLetters, requestReplay } from "./dead-letters.ts";
export { createLoader, type Loader } from "./loader.ts";
