#!/bin/sh
# One-shot job of docker-compose.yml (runs in temporalio/admin-tools, which has the `temporal` CLI):
# waits until the Temporal server is healthy, creates the namespace if it is missing and registers the
# search attributes CurWorkflows sets on its workflows. Every step is idempotent, so re-running is safe.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=30d}"
: "${MAX_ATTEMPTS:=60}"
: "${RETRY_DELAY_SECONDS:=2}"
# Keyword attributes that the workflows set (design: filter the runs of one integration in the UI).
SEARCH_ATTRIBUTES="IntegrationId OrganizationId"

export TEMPORAL_ADDRESS

# retry DESCRIPTION COMMAND...: runs COMMAND until it succeeds, at most MAX_ATTEMPTS times.
retry() {
  description=$1
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      echo "Gave up: $description did not succeed after $attempt attempts" >&2
      return 1
    fi
    echo "Waiting: $description (attempt $attempt of $MAX_ATTEMPTS)"
    attempt=$((attempt + 1))
    sleep "$RETRY_DELAY_SECONDS"
  done
}

server_is_healthy() {
  temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1
}

namespace_exists() {
  temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1
}

ensure_namespace() {
  namespace_exists ||
    temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$NAMESPACE_RETENTION" \
      --address "$TEMPORAL_ADDRESS"
}

ensure_search_attribute() {
  # Creating an attribute that exists with the same type succeeds; a different type is an error.
  temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$1" --type Keyword \
    --address "$TEMPORAL_ADDRESS"
}

echo "Waiting for the Temporal server at $TEMPORAL_ADDRESS"
retry "Temporal server health check" server_is_healthy
retry "namespace '$TEMPORAL_NAMESPACE'" ensure_namespace
# A new namespace reaches the server's namespace cache a moment later; the retries cover that.
for name in $SEARCH_ATTRIBUTES; do
  retry "search attribute '$name'" ensure_search_attribute "$name"
done
echo "Namespace '$TEMPORAL_NAMESPACE' is ready with search attributes: $SEARCH_ATTRIBUTES"
