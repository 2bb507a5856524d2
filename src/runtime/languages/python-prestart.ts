/**
 * A Python interpreter started ahead of its run (the warm path, exec/standby-pool.ts): `python -u -B
 * -c PYTHON_PRESTART <script> <args...>` starts the interpreter (site, the environment's .pth files),
 * then waits at the gate (a line on fd 3) and runs the script as `python -u -B <script> <args...>`
 * would: the same `__main__` module (the one `-c` made, emptied and given a script's globals), the same
 * sys.argv and sys.path[0], the script compiled from its bytes (coding cookies apply), and on an
 * uncaught exception the same report (sys.excepthook, the traceback starting in the script, exit
 * status 1; KeyboardInterrupt ends by SIGINT). A gate closed without the line (the standby was
 * discarded) exits 125 without running anything.
 *
 * Kept as a string: it goes on the command line, so nothing beyond the run's own files has to be
 * visible inside the sandbox.
 */
export const PYTHON_PRESTART = `
def _hangar_prestart():
    import builtins, os, signal, sys
    from importlib.machinery import SourceFileLoader
    try:
        opened = os.read(3, 1)
        os.close(3)
    except OSError:
        opened = b''
    if not opened:
        os._exit(125)
    script = sys.argv[1]
    del sys.argv[0]
    sys.path[0] = os.path.dirname(script)
    namespace = sys.modules['__main__'].__dict__
    namespace.clear()
    namespace.update(__name__='__main__', __doc__=None, __package__=None, __spec__=None, __annotations__={},
                     __builtins__=builtins, __file__=script, __cached__=None, __loader__=SourceFileLoader('__main__', script))
    try:
        with open(script, 'rb') as source:
            code = compile(source.read(), script, 'exec', dont_inherit=True)
        exec(code, namespace)
    except SystemExit:
        raise
    except BaseException as error:
        trace = error.__traceback__
        while trace is not None and trace.tb_frame.f_code.co_filename != script:
            trace = trace.tb_next
        error.__traceback__ = trace
        sys.excepthook(type(error), error, trace)
        if isinstance(error, KeyboardInterrupt):
            sys.stdout.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        sys.exit(1)
_hangar_prestart()
`;
