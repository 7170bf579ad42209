#!/bin/sh
# Creates Temporal's two PostgreSQL databases (persistence and visibility) and brings their schemas up to the version
# the schema tool carries (its built-in schemas, so the tool and the server must be the same release).
# docker-compose.yml runs it once per `up`, before the server starts (service temporal-schema, in the admin-tools
# image); `npm run cluster` runs it with the natively built tool (SQL_TOOL). Safe to run again: existing databases
# are kept and only missing schema versions are applied.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD (read by the schema tool) is required}"
PORT="${DB_PORT:-5432}"
SQL_TOOL="${SQL_TOOL:-temporal-sql-tool}"

sql_tool() {
  "$SQL_TOOL" --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"
}

# setup_database DATABASE SCHEMA (temporal or visibility)
setup_database() {
  echo "temporal-schema: database $1 ($2 schema)"
  sql_tool --db "$1" create
  sql_tool --db "$1" setup-schema -v 0.0
  sql_tool --db "$1" update-schema --schema-name "postgresql/v12/$2"
}

setup_database "${DBNAME:-temporal}" temporal
setup_database "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo 'temporal-schema: done'
