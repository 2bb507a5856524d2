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

const NOT_EXPRESSION = /^(const|let|var|if|for|while|do|function|async\s+function|class|return|try|switch|throw|import|export|\}|\/\/)/;

/** Top-level await: run as an async function; declarations become globals, the last line is returned. */
function asAsync(code) {
  const lines = code.replace(/\s+$/, '').split('\n');
  const last = lines.length - 1;
  const tail = (lines[last] ?? '').trim();
  if (tail && !NOT_EXPRESSION.test(tail) && !tail.endsWith('{')) lines[last] = `return (${tail.replace(/;$/, '')});`;
  const body = lines.map((l) => l.replace(/^(\s*)(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/, '$1globalThis.$2 =')).join('\n');
  return `(async () => {\n${body}\n})()`;
}

let interruptCell = null;
process.on('SIGINT', () => interruptCell?.(new Error('interrupted')));

async function run(code, filename) {
  let script;
  try {
    script = new vm.Script(code, { filename });
  } catch (error) {
    if (!(error instanceof SyntaxError) || !/await/.test(error.message)) throw error;
    script = new vm.Script(asAsync(code), { filename });
  }
  const interrupted = new Promise((_, reject) => {
    interruptCell = (error) => {
      error.name = 'Interrupted';
      reject(error);
    };
  });
  try {
    let value = script.runInContext(context, { breakOnSigint: true });
    if (value && typeof value.then === 'function') value = await Promise.race([value, interrupted]);
    return value;
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
