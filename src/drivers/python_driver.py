"""Hangar's builtin Python REPL driver (stdlib only; runs inside the session's sandbox).

Protocol: Hangar writes frames to fd 3, the driver answers on fd 4. A frame is the payload's byte
length in ASCII decimal, a newline, then a UTF-8 JSON payload. User prints go to the real stdout
and stderr (so output of subprocesses is captured too). At the end of every cell the driver writes
the session's marker to both streams, then the "done" frame saying how many markers it wrote
("marks"): Hangar waits for those, so each stream is complete for that cell. (Skipping the marker
on a pipe that FIONREAD showed drained was tried: under load Hangar then finished a cell before it
had handed that pipe's last bytes to the cell, and stderr lost a line.)
SIGINT interrupts a running cell and is ignored between cells.
"""

import ast
import builtins
import io
import json
import linecache
import os
import signal
import sys
import types
import warnings

CMD_FD, EVT_FD = 3, 4
DRIVER_FILE = os.path.abspath(__file__)
MARK = os.environ.pop("HANGAR_DRIVER_MARK", "").encode()

_cmd = io.open(CMD_FD, "rb", buffering=65536)
_evt = io.open(EVT_FD, "wb", buffering=0)
_state = {"executing": False, "cell": 0, "outputs": None}


def send(obj):
    data = json.dumps(obj, default=str).encode("utf-8")
    view = memoryview(b"%d\n" % len(data) + data)
    while view:
        written = _evt.write(view)
        view = view[written:]


def read_frame():
    header = _cmd.readline()
    if not header:
        return None
    return json.loads(_cmd.read(int(header)).decode("utf-8"))


def _on_sigint(signum, frame):
    if _state["executing"]:
        raise KeyboardInterrupt
    # Between cells an interrupt has nothing to stop.


RICH = [
    ("_repr_png_", "image/png"),
    ("_repr_jpeg_", "image/jpeg"),
    ("_repr_svg_", "image/svg+xml"),
    ("_repr_html_", "text/html"),
    ("_repr_markdown_", "text/markdown"),
    ("_repr_latex_", "text/latex"),
    ("_repr_json_", "application/json"),
]


# base64 and traceback are imported where they are first needed (an image, an error): a session's
# interpreter stays ≈ 0.4 MiB smaller (DESIGN.md section 9: a builtin Python session ≤ 15 MiB).


def _b64(data):
    import base64

    return base64.b64encode(data).decode("ascii")


def _figure_png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return _b64(buf.getvalue())


def mime_bundle(obj):
    """The MIME bundle of an object, as a notebook would show it."""
    bundle = {}
    if type(obj).__module__.startswith("matplotlib.figure"):
        bundle["image/png"] = _figure_png(obj)
    for method, mime in RICH:
        fn = getattr(obj, method, None)
        if fn is None or isinstance(obj, type):
            continue
        try:
            value = fn()
        except Exception:
            continue
        if value is None:
            continue
        if isinstance(value, tuple):
            value = value[0]
        if mime in ("image/png", "image/jpeg"):
            if isinstance(value, (bytes, bytearray)):
                value = _b64(bytes(value))
        elif mime == "application/json":
            value = json.dumps(value, default=str)
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        bundle[mime] = value
    try:
        bundle["text/plain"] = repr(obj)
    except Exception as exc:  # a broken __repr__ must not break the cell
        bundle["text/plain"] = "<repr failed: %s>" % exc
    return bundle


def display(*objs, raw=False):
    """Show objects as rich output of the running cell (like IPython's display)."""
    for obj in objs:
        bundle = obj if raw else mime_bundle(obj)
        sys.stdout.flush()
        send({"type": "display", "data": bundle})


def _flush_figures():
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    for num in list(pyplot.get_fignums()):
        try:
            display({"image/png": _figure_png(pyplot.figure(num)), "text/plain": "<Figure %s>" % num}, raw=True)
        except Exception as exc:
            sys.stderr.write("figure %s could not be rendered: %s\n" % (num, exc))
    pyplot.close("all")


def _user_traceback(exc):
    """The traceback as the user would see it in a notebook: no frames of this driver."""
    try:
        import traceback
    except BaseException:  # noqa: B036 - out of memory while loading it: the exception's own words
        return "%s: %s" % (type(exc).__name__, exc)
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if f.filename != DRIVER_FILE])
    return "".join(te.format()).rstrip("\n")


def _outlives_its_run(tree, codes):
    """Whether a cell's source can be needed after the cell: it made functions, classes, lambdas or
    comprehensions (their code points at the cell's lines), or it can keep a traceback (a handler)."""
    if any(isinstance(const, types.CodeType) for code in codes for const in code.co_consts):
        return True
    return any(isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))) for node in ast.walk(tree))


def run_cell(code, namespace):
    _state["cell"] += 1
    filename = "<cell %d>" % _state["cell"]
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    tree = ast.parse(code, filename, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec")
    final = None if last is None else compile(last, filename, "eval")
    exec(body, namespace)
    value = None if final is None else eval(final, namespace)
    # The source of a cell that succeeded and left nothing that points at it is dropped: a session
    # of simple cells then stays the same size (one entry per cell was ≈ 0.3 KiB, 3 MiB per 10,000).
    # A failed cell keeps it: its traceback is formatted from it.
    if not _outlives_its_run(tree, [c for c in (body, final) if c is not None]):
        linecache.cache.pop(filename, None)
    if value is None:
        return None
    namespace["_"] = value
    return mime_bundle(value)


def end_streams():
    """Marks the end of the cell on stdout and stderr; returns how many marks were written."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    marks = 0
    for fd in (1, 2):
        try:
            os.write(fd, MARK)
            marks += 1
        except OSError:
            pass
    return marks


def main():
    signal.signal(signal.SIGINT, _on_sigint)
    warnings.filterwarnings("ignore", message=".*non-interactive.*")
    os.environ.setdefault("MPLBACKEND", "Agg")
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    module.__dict__["display"] = display
    sys.modules["__main__"] = module
    namespace = module.__dict__
    sys.path.insert(0, os.getcwd())
    send({"type": "ready", "pid": os.getpid(), "version": sys.version.split()[0]})
    count = 0
    while True:
        try:
            request = read_frame()
        except KeyboardInterrupt:
            continue
        if request is None:
            return
        if request.get("op") != "execute":
            send({"type": "done", "id": request.get("id"), "status": "error",
                  "error": {"name": "ProtocolError", "message": "unknown op", "traceback": None}})
            continue
        count += 1
        reply = {"type": "done", "id": request.get("id"), "execution_count": count, "status": "ok",
                 "result": None, "error": None}
        try:
            _state["executing"] = True
            try:
                reply["result"] = run_cell(request["code"], namespace)
            finally:
                _state["executing"] = False
        except BaseException as exc:  # noqa: B036 - SystemExit and KeyboardInterrupt end the cell, not the session
            reply["status"] = "error"
            tb = _user_traceback(exc)
            reply["error"] = {"name": type(exc).__name__, "message": str(exc), "traceback": tb}
        try:
            _flush_figures()
        except BaseException as exc:
            sys.stderr.write("figures could not be rendered: %s\n" % exc)
        reply["marks"] = end_streams()
        send(reply)


if __name__ == "__main__":
    main()
