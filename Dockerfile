# One image for every adpipe service; SERVICE picks which one starts.
FROM oven/bun:1.4.5-slim AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
COPY shared/package.json shared/
COPY services/generator/package.json services/generator/
COPY services/extractor/package.json services/extractor/
COPY services/loader/package.json services/loader/
COPY services/reporter/package.json services/reporter/
COPY tools tools
RUN bun install --frozen-lockfile --production --ignore-scripts

FROM oven/bun:1.4.5-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/shared/node_modules* shared/node_modules
COPY . .
USER bun
ARG SERVICE=generator
ENV SERVICE=${SERVICE}
CMD ["sh", "-c", "exec bun run --cwd services/${SERVICE} start"]
