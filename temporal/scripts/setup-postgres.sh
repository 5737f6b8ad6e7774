#!/bin/sh
# One-shot schema job of docker-compose.yml (runs in temporalio/admin-tools): creates Temporal's two
# PostgreSQL databases and brings their schemas to the version the image ships. Safe to re-run: the base
# schema is set up only in a database this run created, and update-schema applies only missing versions.
set -eu

: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
: "${POSTGRES_PWD:?POSTGRES_PWD must be set}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

export SQL_PASSWORD="$POSTGRES_PWD"

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

setup_database() {
  database=$1
  schema=$2
  echo "Setting up database '$database' with schema $schema"
  # The version-0.0 base set-up belongs to a new database only; an existing one just gets missing versions.
  if sql_tool --db "$database" create; then
    sql_tool --db "$database" setup-schema -v 0.0
  else
    echo "Database '$database' was not created (it exists already); updating its schema only"
  fi
  sql_tool --db "$database" update-schema -d "$SCHEMA_DIR/$schema/versioned"
}

setup_database "$DBNAME" temporal
setup_database "$VISIBILITY_DBNAME" visibility
echo "Temporal schema is up to date"
