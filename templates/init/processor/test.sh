#!/bin/sh
# The processor's own test: run it on tests/sample.jsonl with vars.json and compare what it
# makes with tests/expected.jsonl. `host` is taken from $HOST if set (e.g. HOST="node /path/to/bin/host.js").
# After a deliberate change: sh test.sh --update (then review the diff of tests/expected.jsonl).
set -eu
cd "$(dirname "$0")"
HOST=${HOST:-host}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
$HOST process __PROCESSOR_REF__ --sample tests/sample.jsonl --vars vars.json > "$out"
if [ "${1:-}" = "--update" ]; then
  cp "$out" tests/expected.jsonl
  echo "wrote tests/expected.jsonl"
  exit 0
fi
if diff -u tests/expected.jsonl "$out"; then
  echo "ok: the output of tests/sample.jsonl matches tests/expected.jsonl"
else
  echo "FAIL: the output differs from tests/expected.jsonl (above: - expected, + actual)" >&2
  exit 1
fi
