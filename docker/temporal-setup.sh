#!/bin/sh
# Prepares a running Temporal server for nano-photos: creates the namespace if it is missing and registers the custom
# search attributes the workflow upserts. docker-compose.yml runs it (service temporal-setup, temporalio/admin-tools)
# once the server is healthy; the workers start after it succeeds. `npm run cluster` runs it too, with the project's
# Temporal CLI on PATH. Safe to run again: an existing namespace is kept,
# and attributes that already exist with the same type are left alone (a different type is an error).
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
ATTEMPTS="${SETUP_ATTEMPTS:-60}"

# NAME=TYPE, one a line. Must match PHOTO_SEARCH_ATTRIBUTES in src/common/search-attributes.ts
# (test/docker-compose.test.ts checks names and types).
SEARCH_ATTRIBUTES='
PhotoSha256=Keyword
PhotoFilters=KeywordList
PhotoShareTargets=KeywordList
PhotoStep=Keyword
'

# retry DESCRIPTION COMMAND... : the server may answer health checks a little before every API is ready.
retry() {
  what=$1
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
      echo "temporal-setup: giving up after $ATTEMPTS attempts: $what" >&2
      exit 1
    fi
    echo "temporal-setup: not yet ($what), attempt $attempt/$ATTEMPTS; retrying in 2 s"
    attempt=$((attempt + 1))
    sleep 2
  done
}

ensure_namespace() {
  temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1 ||
    temporal operator namespace create --namespace "$NAMESPACE" --address "$ADDRESS"
}

register_search_attributes() {
  for pair in $SEARCH_ATTRIBUTES; do
    temporal operator search-attribute create --namespace "$NAMESPACE" --address "$ADDRESS" \
      --name "${pair%%=*}" --type "${pair#*=}" || return 1
  done
}

retry "server health at $ADDRESS" temporal operator cluster health --address "$ADDRESS"
retry "namespace $NAMESPACE" ensure_namespace
retry "search attributes in $NAMESPACE" register_search_attributes
temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS"
echo "temporal-setup: namespace $NAMESPACE ready at $ADDRESS"
