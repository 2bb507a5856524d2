// Hangar's builtin JavaScript REPL driver (node stdlib only): a persistent vm context, top-level
// await, console output on stdout/stderr, the value of the last expression as the result.
// Frames ("<length>\n<json>") arrive on fd 3 and are answered on fd 4; see python_driver.py.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import util from 'node:util';
import vm from 'node:vm';

const MARK = process.env.HANGAR_DRIVER_MARK ?? '';
delete process.env.HANGAR_DRIVER_MARK;
const DRIVER = new URL(import.meta.url).pathname;

function writeAll(fd, buffer) {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}

function send(obj) {
  const body = Buffer.from(JSON.stringify(obj));
  writeAll(4, Buffer.concat([Buffer.from(`${body.length}\n`), body]));
}

const sandboxConsole = new console.Console({ stdout: process.stdout, stderr: process.stderr });
const context = vm.createContext({
  console: sandboxConsole,
  require: createRequire(`${process.cwd()}/`),
  process,
  Buffer,
  URL,
  URLSearchParams,
  TextEncoder,
  TextDecoder,
  AbortController,
  setTimeout,
  clearTimeout,
  setInterval,
  clearInterval,
  setImmediate,
  clearImmediate,
  queueMicrotask,
  structuredClone,
  fetch: globalThis.fetch,
  display: (value) => send({ type: 'display', data: { 'text/plain': util.inspect(value) } }),
});

/**
 * Top-level await the way node's own REPL does it: its acorn-based rewrite (node's internals, which
 * the driver is started with --expose-internals to reach) turns a cell into an async function whose
 * declarations (also in destructuring, functions, classes) stay in the context and whose last
 * expression, on any number of lines, is returned as { value }.
 */
const nodeRewrite = (() => {
  try {
    return createRequire(import.meta.url)('internal/repl/await').processTopLevelAwait;
  } catch {
    return null;
  }
})();

const NOT_EXPRESSION = /^(const|let|var|if|for|while|do|function|async\s+function|class|return|try|switch|throw|import|export|\}|\/\/)/;

/** Without node's rewrite (a node that moved it): declarations become globals, a last single-line expression is returned. */
function asAsync(code) {
  const lines = code.replace(/\s+$/, '').split('\n');
  const last = lines.length - 1;
  const tail = (lines[last] ?? '').trim();
  if (tail && !NOT_EXPRESSION.test(tail) && !tail.endsWith('{')) lines[last] = `return { value: (${tail.replace(/;$/, '')}) };`;
  const body = lines.map((l) => l.replace(/^(\s*)(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/, '$1globalThis.$2 =')).join('\n');
  return `(async () => {\n${body}\n})()`;
}

/** The cell as an async script when it awaits at top level; null when it runs as written. */
function topLevelAwait(code) {
  if (!code.includes('await')) return null;
  if (nodeRewrite) {
    try {
      return nodeRewrite(code);
    } catch {
      // Not parseable by the rewrite: let V8 report the real syntax error below.
      return null;
    }
  }
  try {
    new vm.Script(code);
    return null;
  } catch (error) {
    return error instanceof SyntaxError && /await/.test(error.message) ? asAsync(code) : null;
  }
}

let interruptCell = null;
process.on('SIGINT', () => interruptCell?.(new Error('interrupted')));

async function run(code, filename) {
  const wrapped = topLevelAwait(code);
  const script = new vm.Script(wrapped ?? code, { filename });
  const interrupted = new Promise((_, reject) => {
    interruptCell = (error) => {
      error.name = 'Interrupted';
      reject(error);
    };
  });
  try {
    const value = script.runInContext(context, { breakOnSigint: true });
    // The async form resolves to { value } when the cell ends in an expression, else undefined;
    // a cell that evaluates to a promise gives what the promise resolves to.
    if (wrapped !== null) return (await Promise.race([value, interrupted]))?.value;
    return value && typeof value.then === 'function' ? await Promise.race([value, interrupted]) : value;
  } finally {
    interruptCell = null;
  }
}

function describe(error) {
  if (!(error instanceof Error) && !(error && typeof error === 'object' && 'stack' in error)) {
    return { name: 'Error', message: `uncaught ${util.inspect(error)}`, traceback: null };
  }
  const stack = String(error.stack ?? '')
    .split('\n')
    .filter((line) => !line.includes(DRIVER) && !line.includes('node:vm') && !line.includes('node:internal'))
    .join('\n');
  const message = /Script execution interrupted/.test(error.message) ? 'interrupted' : error.message;
  return { name: message === 'interrupted' ? 'Interrupted' : error.name, message, traceback: stack || null };
}

let count = 0;
let pending = Buffer.alloc(0);
const queue = [];
let busy = false;

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const request = queue.shift();
    count++;
    const reply = { type: 'done', id: request.id, execution_count: count, status: 'ok', result: null, error: null };
    try {
      const value = await run(request.code, `cell${count}.js`);
      if (value !== undefined) {
        context._ = value;
        reply.result = { 'text/plain': util.inspect(value) };
      }
    } catch (error) {
      reply.status = 'error';
      reply.error = describe(error);
    }
    process.stdout.write(MARK);
    process.stderr.write(MARK);
    send(reply);
  }
  busy = false;
}

fs.createReadStream(null, { fd: 3 }).on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  for (;;) {
    const newline = pending.indexOf(10);
    if (newline < 0) break;
    const length = Number(pending.subarray(0, newline).toString());
    if (pending.length < newline + 1 + length) break;
    queue.push(JSON.parse(pending.subarray(newline + 1, newline + 1 + length).toString()));
    pending = pending.subarray(newline + 1 + length);
  }
  void drain();
}).on('end', () => process.exit(0));

process.on('uncaughtException', (error) => process.stderr.write(`uncaught exception: ${describe(error).traceback ?? error}\n`));
process.on('unhandledRejection', (error) => process.stderr.write(`unhandled rejection: ${util.inspect(error)}\n`));
send({ type: 'ready', pid: process.pid });
