"""Speed of the kit's resource shape against a hand-written loop (issue 12).

    python3 kits/python/bench/records.py [N] [RUNS]

Both write the same RECORD envelope for N small records ({"id", "name", "value"}) to a pipe the
bench reads and discards; the kit through @resource + connector_host.main (batched writes),
the hand loop with sys.stdout.write(json.dumps(message) + "\\n") per record. Prints the best of
RUNS for each and the ratio (kit speed / hand speed; the goal is >= 0.8). Also the time of
`spec` (python3 -m connector_host FILE:NAME spec) against a bare `python3 -c pass`.
"""

import os
import subprocess
import sys
import tempfile
import time

KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KIT_SRC = """
import connector_host as ch

@ch.resource
def items(config, state):
    for i in range(%d):
        yield {"id": i, "name": "item", "value": i * 2}

if __name__ == "__main__":
    ch.main(items)
"""

HAND_SRC = """
import json, sys, time
w = sys.stdout.write
for i in range(%d):
    w(json.dumps({"type": "RECORD", "record": {"stream": "items", "data": {"id": i, "name": "item", "value": i * 2}, "emitted_at": int(time.time() * 1000)}}) + "\\n")
"""


def timed(args, env):
    t = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, env=env)
    n = 0
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        n += len(b)
    p.wait()
    if p.returncode != 0:
        raise SystemExit("%s exited with %d" % (args, p.returncode))
    return time.perf_counter() - t, n


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    env = dict(os.environ, PYTHONPATH=KIT)
    d = tempfile.mkdtemp(prefix="ch-kit-bench-")
    kit, hand, cfg = os.path.join(d, "kit_items.py"), os.path.join(d, "hand.py"), os.path.join(d, "config.json")
    with open(kit, "w") as f:
        f.write(KIT_SRC % n)
    with open(hand, "w") as f:
        f.write(HAND_SRC % n)
    with open(cfg, "w") as f:
        f.write("{}")
    k = h = None
    for _ in range(runs):
        tk, bk = timed([sys.executable, kit, "read", "--config", cfg], env)
        th, bh = timed([sys.executable, hand], env)
        k = tk if k is None else min(k, tk)
        h = th if h is None else min(h, th)
    print("records: %d, best of %d runs" % (n, runs))
    print("kit  @resource : %.2f s  (%.0f records/s, %d bytes)" % (k, n / k, bk))
    print("hand-written   : %.2f s  (%.0f records/s, %d bytes)" % (h, n / h, bh))
    print("kit speed / hand speed: %.2fx (goal >= 0.8x)" % (h / k))
    sp, bare = [], []
    for _ in range(10):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "connector_host", kit + ":items", "spec"], env=env, stdout=subprocess.DEVNULL, check=True)
        sp.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, stdout=subprocess.DEVNULL, check=True)
        bare.append(time.perf_counter() - t)
    sp.sort()
    bare.sort()
    print("spec (python3 -m connector_host FILE:items spec): median %.0f ms, min %.0f ms; bare python3 -c pass: median %.0f ms, min %.0f ms" % (sp[5] * 1000, sp[0] * 1000, bare[5] * 1000, bare[0] * 1000))


if __name__ == "__main__":
    main()
