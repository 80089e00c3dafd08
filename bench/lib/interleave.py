#!/usr/bin/env python3
"""Times commands in turn, round after round, so that both see the same
machine: the speed of a shared VM moves within minutes.

    interleave.py ROUNDS WARMUP -- CMD_A ARGS... -- CMD_B ARGS...

Runs WARMUP untimed rounds, then ROUNDS timed ones, each round running every
command once in order. Prints one line per command: the median wall time
and the median CPU time (user + system, its child processes included), in
seconds, and the largest peak RSS (KiB) of the command or of any process it
waited for, as /usr/bin/time reports it. A command that exits non-zero
fails the run, except with exit code 1 (findings)."""
import os
import statistics
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    rounds, warmup = int(args[0]), int(args[1])
    cmds, cur = [], None
    for a in args[2:]:
        if a == "--":
            cur = []
            cmds.append(cur)
        else:
            cur.append(a)
    res = [[] for _ in cmds]
    for r in range(warmup + rounds):
        for i, c in enumerate(cmds):
            t = time.perf_counter()
            p = subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t
            code = os.waitstatus_to_exitcode(status)
            if code not in (0, 1):
                sys.exit(f"interleave: {' '.join(c)} exited {code}")
            if r >= warmup:
                res[i].append((wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss))
    for rs in res:
        print(f"{statistics.median(x[0] for x in rs):.4f} {statistics.median(x[1] for x in rs):.4f} {max(x[2] for x in rs)}")


if __name__ == "__main__":
    main()
