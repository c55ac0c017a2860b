"""The hand-written baseline of the kit benchmark (bench/kit-bench.mjs): the RECORD lines of
bench/kit-source.py's `items` stream, written as a connector author would without the kit.

    python3 bench/kit-hand.py --records N [--tight]

Default: one sys.stdout.write(json.dumps(envelope, separators=(",", ":")) + "\\n") per record
(compact, as the kit writes: the same bytes; the encoder made once, as plain json.dumps(o) does
for its default encoder), emitted_at taken per record. --tight: emitted_at taken once per 1,000
records (less work than most hand-written connectors do: the strictest baseline).
"""

import json
import sys
import time

n = int(sys.argv[sys.argv.index("--records") + 1])
tight = "--tight" in sys.argv
write = sys.stdout.write
dumps = json.JSONEncoder(separators=(",", ":")).encode  # what json.dumps(o, separators=...) calls
if tight:
    now = int(time.time() * 1000)
    for i in range(n):
        if i % 1000 == 0:
            now = int(time.time() * 1000)
        write(dumps({"type": "RECORD", "record": {"stream": "items", "data": {"id": i, "name": "user", "score": i % 100, "active": True}, "emitted_at": now}}) + "\n")
else:
    for i in range(n):
        write(dumps({"type": "RECORD", "record": {"stream": "items", "data": {"id": i, "name": "user", "score": i % 100, "active": True}, "emitted_at": int(time.time() * 1000)}}) + "\n")
sys.stdout.flush()
