#!/bin/sh
# Registers longrun's search attributes (src/core/search-attributes.ts) in $TEMPORAL_NAMESPACE, then exits.
# Run by the one-shot `search-attributes` service of compose.yaml with the temporal CLI of temporalio/admin-tools;
# any temporal CLI works: TEMPORAL_ADDRESS=host:7233 TEMPORAL_NAMESPACE=default sh docker/search-attributes.sh
# Creating an attribute that exists with the same type succeeds, so this is safe to run on every start.
set -eu

namespace="${TEMPORAL_NAMESPACE:-default}"
address="${TEMPORAL_ADDRESS:-localhost:7233}"
wait_seconds="${LONGRUN_SETUP_WAIT_SECONDS:-300}"

# The server (and, with auto-setup, the namespace) needs a while after the database is up.
echo "waiting for namespace '${namespace}' at ${address} (up to ${wait_seconds}s)"
waited=0
until temporal operator namespace describe --namespace "${namespace}" >/dev/null 2>&1; do
  if [ "${waited}" -ge "${wait_seconds}" ]; then
    echo "namespace '${namespace}' at ${address} is not reachable after ${wait_seconds}s" >&2
    temporal operator namespace describe --namespace "${namespace}" >&2 || true
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done

create() {
  # A just-created namespace may not have reached every frontend yet: retry briefly.
  tries=0
  until temporal operator search-attribute create --namespace "${namespace}" --name "$1" --type "$2"; do
    tries=$((tries + 1))
    if [ "${tries}" -ge 10 ]; then
      echo "could not create search attribute $1 ($2) in '${namespace}'" >&2
      exit 1
    fi
    sleep 3
  done
  echo "search attribute $1 ($2) ready"
}

create LongrunRunId Keyword
create LongrunRole Keyword
create LongrunCycle Int
create LongrunStatus Keyword
create LongrunCostUsd Double
