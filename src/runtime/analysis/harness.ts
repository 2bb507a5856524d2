import { randomBytes } from 'node:crypto';

/**
 * In-process benchmark harnesses: the snippet is compiled once and executed in a loop inside ONE
 * sandboxed process, timed with a monotonic nanosecond clock, so process start is not measured.
 * Warm-up iterations print normally (the agent sees one sample of the output); timed iterations
 * write to a sink so that output does not flood the result. The timings come back on the last
 * stdout line behind a per-call random marker, so a snippet cannot forge them.
 */
export interface Harness {
  /** Code of the harness program, in the harness's language. */
  code: string;
  /** Files written beside it (the snippet, for module-mode JavaScript). */
  files: Record<string, string>;
  marker: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export function pythonHarness(snippet: string, iterations: number, warmup: number, stdin: string | undefined): Harness {
  const marker = `__HANGAR_BENCH_${randomBytes(8).toString('hex')}__`;
  const code = `import base64, io, json, os, sys, time
_src = base64.b64decode('${b64(snippet)}').decode('utf-8')
_stdin = ${stdin === undefined ? 'None' : `base64.b64decode('${b64(stdin)}').decode('utf-8')`}
_code = compile(_src, 'main.py', 'exec')
def _once():
    if _stdin is not None:
        sys.stdin = io.StringIO(_stdin)
    g = {'__name__': '__main__', '__builtins__': __builtins__}
    t0 = time.perf_counter_ns()
    exec(_code, g)
    return time.perf_counter_ns() - t0
for _ in range(${warmup}):
    _once()
sys.stdout.flush()
_real, _sink = sys.stdout, open(os.devnull, 'w')
_times = []
try:
    sys.stdout = _sink
    for _ in range(${iterations}):
        _times.append(_once())
finally:
    sys.stdout = _real
print('\\n${marker}' + json.dumps(_times), flush=True)
`;
  return { code, files: {}, marker };
}

/** ES module syntax (static import/export) cannot live in a function body: those snippets are re-imported instead. */
const ESM_SYNTAX = /^\s*(import\s*[\w{*'"]|export\s)/m;

export function javascriptHarness(snippet: string, iterations: number, warmup: number): Harness {
  const marker = `__HANGAR_BENCH_${randomBytes(8).toString('hex')}__`;
  const moduleMode = ESM_SYNTAX.test(snippet);
  const load = moduleMode
    ? `const { pathToFileURL } = await import('node:url');
const url = pathToFileURL(process.cwd() + '/hangar_snippet.mjs').href;
let n = 0;
const once = async () => { const t0 = process.hrtime.bigint(); await import(url + '?i=' + n++); return Number(process.hrtime.bigint() - t0); };`
    : `const AsyncFunction = (async () => {}).constructor;
const fn = new AsyncFunction(Buffer.from('${b64(snippet)}', 'base64').toString('utf8'));
const once = async () => { const t0 = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t0); };`;
  const code = `${load}
for (let i = 0; i < ${warmup}; i++) await once();
const write = process.stdout.write.bind(process.stdout);
const times = [];
process.stdout.write = () => true;
try { for (let i = 0; i < ${iterations}; i++) times.push(await once()); } finally { process.stdout.write = write; }
write('\\n${marker}' + JSON.stringify(times) + '\\n');
`;
  return { code, files: moduleMode ? { 'hangar_snippet.mjs': snippet } : {}, marker };
}

/** Splits the harness's stdout into the program's own output and the timings (ns). */
export function parseHarnessOutput(stdout: string, marker: string): { output: string; timesNs: number[] } | undefined {
  const at = stdout.lastIndexOf(`\n${marker}`);
  if (at < 0) return undefined;
  const line = stdout.slice(at + marker.length + 1).trim();
  try {
    const parsed: unknown = JSON.parse(line);
    if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'number')) return undefined;
    return { output: stdout.slice(0, at), timesNs: parsed as number[] };
  } catch {
    return undefined;
  }
}
