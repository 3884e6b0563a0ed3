#!/bin/sh
# Runs once, on the first start of the postgres container (docker-entrypoint-initdb.d), as the
# image's superuser. Creates the migration owner and one login user per service (docs/security.md,
# "Who may do what"); no adpipe process connects as the superuser. The group roles are created here too
# (idempotent; migration 0006 grants them their rights), so the logins can join them now.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_pw="$ADPIPE_OWNER_PASSWORD" -v gen_pw="$GENERATOR_DB_PASSWORD" -v ext_pw="$EXTRACTOR_DB_PASSWORD" \
  -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE adpipe_owner LOGIN CREATEROLE PASSWORD :'owner_pw';
ALTER DATABASE :"db" OWNER TO adpipe_owner;
ALTER SCHEMA public OWNER TO adpipe_owner;
CREATE ROLE adpipe_generator NOLOGIN;
CREATE ROLE adpipe_extractor NOLOGIN;
GRANT adpipe_generator, adpipe_extractor TO adpipe_owner WITH ADMIN OPTION;
GRANT pg_read_all_stats TO adpipe_extractor;
CREATE ROLE adpipe_generator_user LOGIN PASSWORD :'gen_pw' IN ROLE adpipe_generator;
CREATE ROLE adpipe_extractor_user LOGIN PASSWORD :'ext_pw' IN ROLE adpipe_extractor;
SQL
