"""The hand-written baseline of the kit benchmark (bench/kit-bench.mjs): the RECORD lines of
bench/kit-source.py's `items` stream, written as a connector author would without the kit.

    python3 bench/kit-hand.py --records N [--tight]

Default: one sys.stdout.write(json.dumps(envelope) + "\\n") per record, emitted_at taken per
record. --tight: emitted_at taken once per 1,000 records (less work than any real connector:
the strictest baseline).
"""

import json
import sys
import time

n = int(sys.argv[sys.argv.index("--records") + 1])
tight = "--tight" in sys.argv
write = sys.stdout.write
dumps = json.dumps
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
