"""Static findings for a Python snippet read from stdin, printed as JSON on stdout.

Advisory only: Hangar never blocks a run on these. Stdlib only; runs inside a sandboxed run.
Each finding: {"line", "severity" (info|warning|danger), "rule", "reason"}.
"""
import ast
import json
import sys

PROCESS_CALLS = {
    "os.system": ("shell", "danger", "runs a shell command"),
    "os.popen": ("shell", "danger", "runs a shell command"),
    "subprocess.run": ("process", "warning", "starts a process"),
    "subprocess.call": ("process", "warning", "starts a process"),
    "subprocess.check_call": ("process", "warning", "starts a process"),
    "subprocess.check_output": ("process", "warning", "starts a process"),
    "subprocess.Popen": ("process", "warning", "starts a process"),
    "subprocess.getoutput": ("shell", "danger", "runs a shell command"),
    "subprocess.getstatusoutput": ("shell", "danger", "runs a shell command"),
    "os.fork": ("process", "warning", "forks the process"),
    "os.kill": ("process", "warning", "sends a signal to a process"),
    "os.killpg": ("process", "danger", "signals a whole process group"),
    "os.setsid": ("process", "warning", "detaches from the session (daemon pattern)"),
    "pty.spawn": ("process", "warning", "starts a process on a terminal"),
    "os.remove": ("file_delete", "warning", "deletes a file"),
    "os.unlink": ("file_delete", "warning", "deletes a file"),
    "os.rmdir": ("file_delete", "warning", "deletes a directory"),
    "shutil.rmtree": ("file_delete", "danger", "deletes a directory tree"),
    "os.chmod": ("file_write", "info", "changes file permissions"),
    "shutil.copy": ("file_write", "info", "writes a file"),
    "shutil.move": ("file_write", "info", "moves a file"),
    "socket.socket": ("network", "warning", "opens a network socket"),
    "socket.create_connection": ("network", "warning", "opens a network connection"),
    "urllib.request.urlopen": ("network", "warning", "makes a network request"),
    "requests.get": ("network", "warning", "makes a network request"),
    "requests.post": ("network", "warning", "makes a network request"),
    "ctypes.CDLL": ("native_code", "danger", "loads native code"),
    "ctypes.cdll.LoadLibrary": ("native_code", "danger", "loads native code"),
    "pickle.loads": ("deserialization", "warning", "unpickling runs arbitrary code for crafted data"),
    "pickle.load": ("deserialization", "warning", "unpickling runs arbitrary code for crafted data"),
    "marshal.loads": ("deserialization", "warning", "loads code objects"),
}
BUILTINS = {
    "eval": ("eval", "danger", "evaluates a string as code"),
    "exec": ("eval", "danger", "executes a string as code"),
    "compile": ("eval", "warning", "compiles a string as code"),
    "__import__": ("dynamic_import", "warning", "imports a module by name at run time"),
}
IMPORTS = {
    "subprocess": ("process", "info", "imports subprocess (process execution)"),
    "socket": ("network", "info", "imports socket (network access)"),
    "ctypes": ("native_code", "danger", "imports ctypes (calls native code, can corrupt memory)"),
    "cffi": ("native_code", "danger", "imports cffi (calls native code)"),
    "requests": ("network", "info", "imports requests (network access)"),
    "urllib.request": ("network", "info", "imports urllib.request (network access)"),
    "http.client": ("network", "info", "imports http.client (network access)"),
    "ftplib": ("network", "info", "imports ftplib (network access)"),
    "smtplib": ("network", "info", "imports smtplib (network access)"),
    "pickle": ("deserialization", "info", "imports pickle"),
    "multiprocessing": ("process", "info", "imports multiprocessing (starts processes)"),
}
WRITE_MODES = set("wax+")


def dotted(node):
    """`a.b.c` for Name/Attribute chains, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class Finder(ast.NodeVisitor):
    def __init__(self):
        self.findings = []
        self.aliases = {}  # local name -> module or module.attr it stands for

    def add(self, node, rule, severity, reason):
        self.findings.append({"line": getattr(node, "lineno", 1), "severity": severity, "rule": rule, "reason": reason})

    def visit_Import(self, node):
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            self.check_import(node, alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        self.check_import(node, module)
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
        self.generic_visit(node)

    def check_import(self, node, module):
        for name, (rule, severity, reason) in IMPORTS.items():
            if module == name or module.startswith(name + "."):
                self.add(node, rule, severity, reason)
                return

    def visit_Call(self, node):
        name = dotted(node.func)
        if name:
            head, _, rest = name.partition(".")
            full = self.aliases.get(head, head) + ("." + rest if rest else "")
            if full in PROCESS_CALLS:
                self.add(node, *PROCESS_CALLS[full])
            elif name in BUILTINS and head not in self.aliases:
                self.add(node, *BUILTINS[name])
            elif full.startswith("subprocess.") or full.startswith("os.exec") or full.startswith("os.spawn"):
                self.add(node, "process", "warning", f"starts a process ({full})")
            if full.startswith("subprocess.") and any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value for k in node.keywords):
                self.add(node, "shell", "danger", "shell=True passes the command through a shell")
            if name == "open" or full in ("io.open", "os.open"):
                self.check_open(node)
            if rest in ("write_text", "write_bytes") or full.endswith(".write_text") or full.endswith(".write_bytes"):
                self.add(node, "file_write", "info", "writes a file")
        self.generic_visit(node)

    def check_open(self, node):
        mode = None
        if len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
            mode = node.args[1].value
        for k in node.keywords:
            if k.arg == "mode" and isinstance(k.value, ast.Constant):
                mode = k.value.value
        if isinstance(mode, str) and WRITE_MODES & set(mode):
            target = node.args[0] if node.args else None
            where = f" {target.value!r}" if isinstance(target, ast.Constant) and isinstance(target.value, str) else ""
            absolute = where and str(target.value).startswith("/")
            self.add(node, "file_write", "warning" if absolute else "info", f"opens{where} for writing" + (" (outside the working directory)" if absolute else ""))

    def visit_While(self, node):
        if isinstance(node.test, ast.Constant) and node.test.value is True and not any(isinstance(n, (ast.Break, ast.Return)) for n in ast.walk(node)):
            self.add(node, "infinite_loop", "warning", "`while True` without break or return never ends (the run's timeout will stop it)")
        self.generic_visit(node)


def main():
    source = sys.stdin.read()
    try:
        tree = ast.parse(source, "main.py")
    except SyntaxError as error:
        print(json.dumps({"findings": [{"line": error.lineno or 1, "severity": "danger", "rule": "syntax_error", "reason": f"does not parse: {error.msg}"}]}))
        return
    except (RecursionError, MemoryError, ValueError) as error:
        print(json.dumps({"findings": [{"line": 1, "severity": "warning", "rule": "unparsable", "reason": f"could not be analysed: {type(error).__name__}"}]}))
        return
    finder = Finder()
    try:
        finder.visit(tree)
    except RecursionError:
        finder.add(tree, "unparsable", "warning", "nesting too deep to analyse fully")
    finder.findings.sort(key=lambda f: (f["line"], f["rule"]))
    print(json.dumps({"findings": finder.findings}))


main()
