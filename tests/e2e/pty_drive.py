#!/usr/bin/env python3
"""Drives a command on a pseudo-terminal, as a person at a terminal would.

Usage: pty_drive.py ROWS COLS STEPS_JSON -- COMMAND...
STEPS_JSON is a list of steps:
  ["expect", TEXT]       wait (30 s at most) until TEXT appeared in the output
  ["send", TEXT]         type TEXT (\\u0010 is ctrl-p)
  ["resize", ROWS, COLS] change the window size (the command gets SIGWINCH)
  ["sleep", SECONDS]
Then waits (20 s at most) for the command to exit. Prints the output to
stdout and exits with the command's status (124 when a step timed out).
"""
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    rows, cols, steps = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    command = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    set_size(fd, rows, cols)
    output = b""

    def pump(deadline, until=None):
        """Reads until `until` appears, EOF or the deadline; True if found."""
        nonlocal output
        while until is None or until not in output:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return False
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                return until is not None and until in output
            output += data
        return True

    status = 0
    for step in steps:
        if step[0] == "expect":
            if not pump(time.monotonic() + 30, step[1].encode()):
                sys.stdout.write(output.decode(errors="replace"))
                sys.stderr.write("pty_drive: timed out waiting for %r\n" % step[1])
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                sys.exit(124)
        elif step[0] == "send":
            os.write(fd, step[1].encode())
        elif step[0] == "resize":
            set_size(fd, step[1], step[2])
            os.kill(pid, signal.SIGWINCH)
        elif step[0] == "sleep":
            time.sleep(step[1])
    deadline = time.monotonic() + 20
    pump(deadline)
    # The terminal reads EOF once the command has closed its descriptors, a
    # moment before the kernel makes it a zombie: keep asking until the
    # deadline rather than once.
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = 124 << 8
            break
        time.sleep(0.02)
    sys.stdout.write(output.decode(errors="replace"))
    sys.exit(os.waitstatus_to_exitcode(status) if status != 124 << 8 else 124)


if __name__ == "__main__":
    main()
