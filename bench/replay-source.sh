#!/bin/sh
# Replay connector for the read benchmark: answers spec, check and discover, and on read
# streams a pre-generated file of protocol lines to stdout with `exec cat` (no parsing, no
# Node: the connector side costs as little as possible, and its RSS is ~1 MB, so it cannot
# inflate the host's peak RSS as measured through wait4()).
#
#   sh bench/replay-source.sh --file DATA.jsonl spec|check|discover|read [--config F] [--catalog F] [--state F]
#
# The data file may also come from $REPLAY_FILE. Streams: `orders` (incremental, cursor `id`)
# and `customers` (full_refresh). Made by bench/generate.mjs.
set -eu
FILE=${REPLAY_FILE:-}
cmd=''
while [ $# -gt 0 ]; do
  case $1 in
    --file) FILE=$2; shift 2 ;;
    spec | check | discover | read) cmd=$1; shift; break ;;
    *) shift ;;
  esac
done

case $cmd in
  spec)
    printf '%s\n' '{"type":"SPEC","spec":{"documentationUrl":"https://example.invalid/replay","connectionSpecification":{"$schema":"http://json-schema.org/draft-07/schema#","title":"Replay","type":"object","additionalProperties":true,"properties":{}}}}'
    ;;
  check)
    printf '%s\n' '{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}'
    ;;
  discover)
    printf '%s\n' '{"type":"CATALOG","catalog":{"streams":[{"name":"orders","json_schema":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","required":["id"],"properties":{"id":{"type":"integer"},"ext_id":{"type":"integer"},"status":{"type":"string","enum":["pending","paid","shipped","delivered","cancelled","refunded"]},"amount":{"type":"number"},"paid":{"type":"boolean"},"created_at":{"type":"string","format":"date-time"},"note":{"type":["string","null"]},"ship":{"type":"object","properties":{"city":{"type":"string"}}}}},"supported_sync_modes":["full_refresh","incremental"],"source_defined_cursor":true,"default_cursor_field":["id"],"source_defined_primary_key":[["id"]]},{"name":"customers","json_schema":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","required":["id"],"properties":{"id":{"type":"integer"},"name":{"type":"string"},"email":{"type":"string"},"active":{"type":"boolean"},"score":{"type":"number"},"signed_up_at":{"type":"string","format":"date-time"},"address":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},"supported_sync_modes":["full_refresh"],"source_defined_primary_key":[["id"]]}]}}'
    ;;
  read)
    [ -n "$FILE" ] || { echo 'replay-source: no data file (--file F before the command, or REPLAY_FILE)' >&2; exit 2; }
    [ -r "$FILE" ] || { echo "replay-source: cannot read $FILE" >&2; exit 2; }
    exec cat "$FILE"
    ;;
  *)
    echo 'replay-source: expected spec|check|discover|read' >&2
    exit 2
    ;;
esac
