import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { javaMainClass, javaPublicClass, javaSourceFile } from '../../src/runtime/languages/java.js';
import { testRuntime } from '../helpers/runtime.js';

type TestRuntime = Awaited<ReturnType<typeof testRuntime>>;

/** Hello world per language: each prints `hello 42` so one assertion fits all. */
const HELLO: Record<string, string> = {
  python: 'print("hello", 6 * 7)',
  javascript: 'console.log("hello", 6 * 7)',
  typescript: 'const n: number = 6 * 7;\ninterface P { x: number }\nenum E { A }\nconsole.log("hello", n + E.A)',
  bash: 'echo "hello $((6 * 7))"',
  sh: 'echo "hello $((6 * 7))"',
  ruby: 'puts "hello #{6 * 7}"',
  perl: 'print "hello ", 6 * 7, "\\n";',
  php: 'echo "hello " . (6 * 7) . "\\n";',
  go: 'package main\nimport "fmt"\nfunc main() { fmt.Println("hello", 6*7) }',
  rust: 'fn main() { println!("hello {}", 6 * 7); }',
  c: '#include <stdio.h>\nint main(void) { printf("hello %d\\n", 6 * 7); return 0; }',
  cpp: '#include <iostream>\nint main() { std::cout << "hello " << 6 * 7 << std::endl; }',
  java: 'public class Main { public static void main(String[] a) { System.out.println("hello " + 6 * 7); } }',
  r: 'cat(sprintf("hello %d\\n", 6L * 7L))',
};

/** A compile error per compiled language, and a word the compiler's message must contain. */
const BROKEN: Record<string, [string, RegExp]> = {
  c: ['int main(void) { return undefined_name; }', /undefined_name/],
  cpp: ['int main() { return undefined_name; }', /undefined_name/],
  go: ['package main\nfunc main() { undefinedName() }', /undefinedName/],
  rust: ['fn main() { let x: i32 = "text"; }', /mismatched types/],
  java: ['public class Main { public static void main(String[] a) { int x = "s"; } }', /incompatible types/],
  typescript: ['const x: number = ;', /main\.ts:1:\d+: error/],
};

const CI_MINIMUM = ['python', 'javascript', 'typescript', 'bash', 'sh', 'c', 'cpp', 'java', 'rust', 'perl'];

describe('languages', () => {
  let runtime: TestRuntime;
  let available: Set<string>;
  beforeAll(async () => {
    runtime = await testRuntime();
    available = new Set((await runtime.languages.list()).filter((l) => l.available).map((l) => l.id));
  });
  afterAll(async () => runtime.dispose());

  it('finds the CI minimum toolchains, by absolute path and never a shim', async () => {
    const list = await runtime.languages.list();
    for (const id of CI_MINIMUM) expect(available, id).toContain(id);
    for (const l of list.filter((x) => x.available)) {
      expect(l.path?.startsWith('/')).toBe(true);
      expect(l.path).not.toMatch(/shims|rustup$/);
      expect(l.command).toBeTruthy();
    }
    if (process.env.CI) for (const id of Object.keys(HELLO)) expect(available, `${id} on CI`).toContain(id);
  });

  it.each(Object.keys(HELLO))('runs hello world in %s', { timeout: 120_000 }, async (language) => {
    if (!available.has(language)) {
      expect(CI_MINIMUM).not.toContain(language);
      return;
    }
    const result = await runtime.exec.runCode({ language, code: HELLO[language] ?? '', policy: { timeoutS: 100 } });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('hello 42\n');
    expect(result.status).toBe('ok');
  });

  it.each(Object.keys(BROKEN))('returns the compiler message for broken %s as status "error"', { timeout: 120_000 }, async (language) => {
    if (!available.has(language)) return;
    const [code, message] = BROKEN[language] ?? ['', /./];
    const result = await runtime.exec.runCode({ language, code, policy: { timeoutS: 100 } });
    expect(result.status).toBe('error');
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('passes args and stdin to a compiled program', async () => {
    const code = '#include <stdio.h>\nint main(int c, char **v) { char b[64]; fgets(b, 64, stdin); printf("%s|%s|%s", v[1], v[2], b); }';
    const result = await runtime.exec.runCode({ language: 'c', code, args: ['a b', 'c'], stdin: 'line\n' });
    expect(result.stdout).toBe('a b|c|line\n');
  });

  it('passes args and stdin to interpreted programs', async () => {
    const py = await runtime.exec.runCode({ language: 'python', code: 'import sys\nprint(sys.argv[1:], sys.stdin.read())', args: ['x'], stdin: 'in' });
    expect(py.stdout).toBe("['x'] in\n");
    const ts = await runtime.exec.runCode({ language: 'ts', code: 'const a: string[] = process.argv.slice(2); console.log(a.join(","))', args: ['p', 'q'] });
    expect(ts.stdout).toBe('p,q\n');
  });

  it('runs Java whatever the public class is called, and a helper class before it', { timeout: 120_000 }, async () => {
    const code = 'class Helper { static int f() { return 7; } }\npublic class Calculator {\n  public static void main(String[] args) { System.out.println(Helper.f() * Integer.parseInt(args[0])); }\n}';
    const result = await runtime.exec.runCode({ language: 'java', code, args: ['6'] });
    expect(result.stdout).toBe('42\n');
  });

  it('counts the compile in the run time: a timeout while compiling says so', async () => {
    const code = 'fn main() { println!("{}", 1); }';
    const result = await runtime.exec.runCode({ language: 'rust', code, policy: { timeoutS: 0.05 } });
    expect(result.status).toBe('timeout');
    expect(result.error?.message).toBe('timed out after 0.05 s (while compiling)');
  });

  it('keeps TypeScript stack traces on the caller\'s lines', async () => {
    const result = await runtime.exec.runCode({ language: 'typescript', code: 'type T = number;\nconst x: T = 1;\nthrow new Error("boom " + x);' });
    expect(result.status).toBe('error');
    expect(result.stderr).toMatch(/main\.ts:3/);
  });
});

describe('java names', () => {
  it('finds the public class and the main class, ignoring comments and strings', () => {
    const code = '// public class Fake {}\nclass A {}\n/* class B */ public final class Real { public static void main(String[] x) { String s = "class C"; } }';
    expect(javaPublicClass(code)).toBe('Real');
    expect(javaSourceFile(code)).toBe('Real.java');
    expect(javaMainClass(code)).toBe('Real');
    expect(javaSourceFile('class X { public static void main(String[] a) {} }')).toBe('Main.java');
    expect(javaMainClass('class X { public static void main(String[] a) {} }')).toBe('X');
  });
});
