// The generator's public entry (`@adpipe/generator`): what other packages, tests and benchmarks
// may use. `src/index.ts` is the process; nothing outside this package imports its `src/`.
export { createOperations, type Operations } from "./operations.ts";
