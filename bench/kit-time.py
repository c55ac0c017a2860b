"""Start-up timer of the kit benchmark (bench/kit-bench.mjs).

    python3 bench/kit-time.py --runs N VARIANTS.json

VARIANTS.json: [{"id": ..., "cmd": [...], "expect": "SPEC" or null}, ...]. One warm-up run of
each (bytecode caches, page cache), then N rounds; each round runs every variant once, the
order rotating by one each round. A run: fork/exec, stdout into a pipe read to the end, wait4;
wall time (perf_counter, spawn to reap) and CPU time (user + system of the child, from
wait4's rusage: what the run cost, less sensitive than wall time to other load on the
machine). Prints {"id": [{"wall_ms", "cpu_ms", "exit", "ok"}, ...], ...} as one JSON line.
"""

import json
import os
import subprocess
import sys
import tempfile
import time


def once(v):
    with tempfile.TemporaryFile() as errf:
        t0 = time.perf_counter()
        p = subprocess.Popen(v["cmd"], stdout=subprocess.PIPE, stderr=errf, stdin=subprocess.DEVNULL)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter()
        p.returncode = os.waitstatus_to_exitcode(status)
        p.stdout.close()
        errf.seek(0)
        err = errf.read()
    return {"wall_ms": (t1 - t0) * 1000, "cpu_ms": (ru.ru_utime + ru.ru_stime) * 1000, "exit": p.returncode, "out": out, "err": err}


def main():
    runs = int(sys.argv[sys.argv.index("--runs") + 1])
    variants = json.load(open(sys.argv[-1]))
    results = {v["id"]: [] for v in variants}
    for v in variants:
        once(v)
    for r in range(runs):
        for i in range(len(variants)):
            v = variants[(i + r) % len(variants)]
            res = once(v)
            ok = res["exit"] == 0 and (not v.get("expect") or v["expect"].encode() in res["out"])
            results[v["id"]].append({
                "wall_ms": res["wall_ms"],
                "cpu_ms": res["cpu_ms"],
                "exit": res["exit"],
                "ok": ok,
                "err": None if ok else (res["err"] or res["out"])[-400:].decode("utf-8", "replace"),
            })
    print(json.dumps(results))


if __name__ == "__main__":
    main()
