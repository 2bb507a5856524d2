# Hangar's reaper of one background process: runs the program as its child and reports how it
# ended, precisely, on fd 3 ("exit N" or "signal N"). A shell's `wait` and bubblewrap both turn
# "killed by signal N" into exit code 128 + N, so a program that exits 200 would read as signal 72.
#   python3 -I -S -c "<this file>" PROGRAM ARGS...
# It then exits with the shell's convention (128 + N for a signal), so the supervisor's own status
# stays meaningful where this report is missing.
import os
import signal
import sys


def ignore(_signum, _frame):
    pass


def main():
    argv = sys.argv[1:]
    if not argv:
        os._exit(2)
    # kill_process sends its polite signal to every process of the tree: it is meant for the
    # program, and the reaper must stay to report. A handler, not SIG_IGN: exec resets handlers to
    # the default, so the program starts with ordinary signal dispositions.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, ignore)
    pid = os.fork()
    if pid == 0:
        try:
            os.close(3)  # The report channel is the reaper's alone.
        except OSError:
            pass
        try:
            os.execvp(argv[0], argv)
        except OSError as error:
            os.write(2, ("hangar: cannot run %s: %s\n" % (argv[0], error.strerror)).encode())
            os._exit(127 if isinstance(error, FileNotFoundError) else 126)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        report, code = "signal %d" % number, 128 + number
    else:
        code = os.WEXITSTATUS(status)
        report = "exit %d" % code
    try:
        os.write(3, report.encode())
        os.close(3)
    except OSError:
        pass
    os._exit(code)


main()
