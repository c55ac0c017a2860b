#!/usr/bin/env python3
"""Run one command; print a JSON line with its wall time and peak RSS.

    python3 bench/measure.py [--stdout FILE] [--stderr FILE] [--timeout S] -- CMD [ARGS...]

Peak RSS (maxrss_kb) is the kernel's ru_maxrss from wait4() on the command. Linux reports
the max of the process's own peak RSS and the peaks of the descendants IT waited for
(signal->cmaxrss is a max, not a sum). For `node bin/host.js read -- sh replay-source.sh`
that is max(host, replay children) = the host's, because the replay connector is `sh` that
`exec`s `cat` (~1-2 MB; a Node replay connector, ~45 MB, could mask a smaller host).

The command is started through GNU time (/usr/bin/time -f %M) when present: ru_maxrss also
counts the RSS of the image before exec(), and a forked Python is ~13 MB, which would be a
floor under small processes like `cat`; GNU time's is ~1.5 MB. Without GNU time the floor
applies (flagged in the output as rss_floor_kb).

Cross-check (vmhwm_kb): VmHWM sampled from /proc/PID/status every 20 ms while the command
runs: the process's own high-water mark, descendants excluded; can miss the last 20 ms.
Per process (procs): the same VmHWM sampling over every descendant of the command (host,
connector, shim, tap, destination): a list of {"cmd": short command line, "vmhwm_kb": max seen}
for each process that lived through at least one sample, so the peak of a connector or shim
can be told apart from the host's (ru_maxrss gives only the max over the tree).
Tree peak (tree_peak_kb): at each sample the sum of VmRSS over the command's process and all its
descendants; the max over the samples. A sum of RSS counts pages shared between processes (e.g.
the node binary's text) once per process, so it is an upper bound of what the tree held at once;
unlike adding up the per-process VmHWM it does not add processes that never lived together (a
discover child and the sync child). tree_peak_procs lists that sample's processes
({"cmd", "rss_kb"}), so a caller can tell the runner's share from the connectors'.
Wall time (wall_s): perf_counter around start .. reap, so it includes process start-up.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

GNU_TIME = "/usr/bin/time"


def vmhwm(pid):
    return mem(pid)[0]


def mem(pid):
    """(VmHWM, VmRSS) in kB from /proc/PID/status; (None, None) once the process is gone."""
    hwm = rss = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                    break
    except OSError:
        pass
    return hwm, rss


def child_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
            return int(kids[0]) if kids else None
    except OSError:
        return None


def children(pid):
    out = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{t}/children") as f:
                    out.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def descendants(pid):
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children(p):
            seen.append(c)
            todo.append(c)
    return seen


def short_cmd(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return None
    if not argv:
        return None
    # the program and the first script-like argument, by base name
    names = [os.path.basename(argv[0])]
    for a in argv[1:]:
        if not a.startswith("-") and ("/" in a or "." in a):
            names.append(os.path.basename(a))
            break
    return " ".join(names)


def has_gnu_time():
    try:
        r = subprocess.run([GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True)
        return r.returncode == 0 and r.stderr.strip().isdigit()
    except OSError:
        return False


def main():
    args = sys.argv[1:]
    out = err = None
    timeout = None  # seconds; then the command's process group is killed (SIGKILL), "timed_out": true
    while args and args[0] != "--":
        if args[0] == "--stdout":
            out, args = args[1], args[2:]
        elif args[0] == "--stderr":
            err, args = args[1], args[2:]
        elif args[0] == "--timeout":
            timeout, args = float(args[1]), args[2:]
        else:
            sys.exit(f"measure.py: unknown option {args[0]}")
    cmd = args[1:]
    use_time = has_gnu_time()
    tfile = None
    if use_time:
        fd, tfile = tempfile.mkstemp(prefix="measure-", suffix=".txt")
        os.close(fd)
        cmd = [GNU_TIME, "-f", "%M %x", "-o", tfile, "--"] + cmd
    fo = open(out, "wb") if out else subprocess.DEVNULL
    fe = open(err, "wb") if err else None
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, start_new_session=timeout is not None)
    timed_out = [False]
    if timeout is not None:
        def kill():
            timed_out[0] = True
            try:
                os.killpg(p.pid, 9)
            except OSError:
                pass
        killer = threading.Timer(timeout, kill)
        killer.daemon = True
        killer.start()
    hwm = [None]
    procs = {}  # pid -> [cmd, max VmHWM kB]
    tree = [0, []]  # max over samples of the summed VmRSS, and that sample's processes
    done = threading.Event()

    def sample():
        target = None
        while not done.is_set():
            if target is None:
                target = child_of(p.pid) if use_time else p.pid
            if target is not None:
                h = vmhwm(target)
                if h is not None and not done.is_set():
                    hwm[0] = h
                total, now = 0, []
                for d in [target] + descendants(target):
                    h, rss = mem(d)
                    if h is None or done.is_set():
                        continue
                    e = procs.get(d)
                    if e is None:
                        cmd = short_cmd(d)
                        if cmd is None:
                            continue
                        procs[d] = e = [cmd, 0]
                    elif e[0] != short_cmd(d) and short_cmd(d) is not None:
                        e[0] = short_cmd(d)  # exec'd since the last sample (sh -> cat)
                    e[1] = max(e[1], h)
                    if rss is not None:
                        total += rss
                        now.append({"cmd": e[0], "rss_kb": rss})
                if total > tree[0] and not done.is_set():
                    tree[0], tree[1] = total, now
            done.wait(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, status, ru = os.wait4(p.pid, 0)
    t1 = time.perf_counter()
    done.set()
    if timeout is not None:
        killer.cancel()
    th.join()
    if fe:
        fe.close()
    if out:
        fo.close()
    code = os.waitstatus_to_exitcode(status)
    maxrss = ru.ru_maxrss
    floor = None
    if use_time:
        # GNU time writes "Command exited with non-zero status N" first on failure
        lines = open(tfile).read().strip().splitlines()
        last = lines[-1].split() if lines else []
        os.unlink(tfile)
        if timed_out[0] or len(last) < 2 or not last[0].isdigit():
            maxrss, code = maxrss, (-9 if timed_out[0] else code)
        else:
            maxrss, code = int(last[0]), int(last[1])
    else:
        floor = 13000
    print(json.dumps({
        "wall_s": t1 - t0,
        "exit": code,
        "maxrss_kb": maxrss,
        "vmhwm_kb": hwm[0],
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "rss_floor_kb": floor,
        "procs": [{"cmd": c, "vmhwm_kb": h} for c, h in procs.values()],
        "tree_peak_kb": tree[0] or None,
        "timed_out": timed_out[0],
        "tree_peak_procs": tree[1],
    }))


if __name__ == "__main__":
    main()
