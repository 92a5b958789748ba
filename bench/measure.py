#!/usr/bin/env python3
"""Run a command and record its CPU time and peak RSS, like
`/usr/bin/time -o OUTFILE -f '%U %S %M' COMMAND...` (the fallback
bench/vs-pgbench.sh uses when GNU time is not installed).

    measure.py OUTFILE COMMAND [ARG...]

Writes one line "USER_S SYS_S MAXRSS_KB" to OUTFILE: the resource usage of
COMMAND's process (and any children it waited for), from wait4(2). The
command's stdin/stdout/stderr are passed through; the exit status is the
command's (128+N when killed by signal N).
"""
import os
import signal
import subprocess
import sys


def main() -> int:
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out_file, command = sys.argv[1], sys.argv[2:]
    # Ctrl-C reaches the child through the process group; wait for it to finish.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child = subprocess.Popen(command)
    except OSError as error:
        sys.stderr.write(f"measure.py: cannot run {command[0]}: {error}\n")
        return 127
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped here; keep Popen from waiting again
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    maxrss_kb = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    with open(out_file, "w") as handle:
        handle.write(f"{usage.ru_utime:.2f} {usage.ru_stime:.2f} {maxrss_kb}\n")
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
