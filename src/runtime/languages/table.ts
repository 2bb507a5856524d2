import path from 'node:path';
import { javaMainClass, javaSourceFile } from './java.js';
import { PYTHON_PRESTART } from './python-prestart.js';

/**
 * The language table: adding a language is one entry. Each entry says how to find its toolchain
 * (absolute paths only: a PATH shim such as pyenv's costs tens of milliseconds per start) and how
 * to turn a source file into command lines: an optional compile step, then the program.
 */

/** The paths of one run, as a language entry sees them. */
export interface RunFiles {
  /** The source file (absolute). */
  source: string;
  /** Where compilers put their output; inside the run, removed with it. */
  buildDir: string;
  /** The run's private temporary directory (TMPDIR). */
  tmpDir: string;
  /** The code as written by the caller (some entries derive names from it). */
  code: string;
}

export interface LanguageEntry {
  id: string;
  aliases: string[];
  extensions: string[];
  /** File name the code is written to before it runs; may depend on the code (Java's public class). */
  sourceFile: string | ((code: string) => string);
  /**
   * Programs to look for, in order: names searched on PATH (shim directories skipped), absolute
   * paths, or patterns with `~` (the host's home) and one `*` path segment (rustup toolchains).
   */
  candidates: string[];
  versionArgs: string[];
  /** Source rewriting done by Hangar before the run (TypeScript: types stripped). */
  transform?: 'typescript';
  /** A cheap textual fix-up of the source before it is written; must keep line numbers. */
  rewrite?(code: string): string;
  /** The compile command, run inside the run with its limits; a non-zero exit ends the run as "error". */
  compile?(tool: string, files: RunFiles): string[];
  /** The program's command line. */
  command(tool: string, files: RunFiles, args: string[]): string[];
  /**
   * For the warm path: a command line that starts the interpreter ahead of its run, waits at the
   * gate itself (a line on fd 3), then runs exactly as `command` would. Without it, a standby is a
   * gate shell (GATE_ARGV) in front of `command`, and the interpreter starts when the call comes.
   */
  prestart?(tool: string, files: RunFiles, args: string[]): string[];
  /** Extra environment variables of the run (paths inside the run only). */
  env?(files: RunFiles): Record<string, string>;
}

const bin = (files: RunFiles): string => path.join(files.buildDir, 'prog');
const sibling = (tool: string, name: string): string => path.join(path.dirname(tool), name);
const direct = (tool: string, files: RunFiles, args: string[]): string[] => [tool, files.source, ...args];

export const LANGUAGE_TABLE: readonly LanguageEntry[] = [
  {
    id: 'python',
    aliases: ['py', 'python3'],
    extensions: ['.py'],
    sourceFile: 'main.py',
    candidates: ['python3', '/usr/bin/python3', '/usr/local/bin/python3'],
    versionArgs: ['--version'],
    // -u: output reaches the agent in order even when the run is killed; -B: no .pyc in the workspace.
    command: (tool, files, args) => [tool, '-u', '-B', files.source, ...args],
    prestart: (tool, files, args) => [tool, '-u', '-B', '-c', PYTHON_PRESTART, files.source, ...args],
  },
  {
    id: 'javascript',
    aliases: ['js', 'node', 'nodejs'],
    extensions: ['.js', '.mjs', '.cjs'],
    sourceFile: 'main.mjs',
    candidates: ['<node>', 'node', '/usr/bin/node', '/usr/local/bin/node'],
    versionArgs: ['--version'],
    command: direct,
  },
  {
    id: 'typescript',
    aliases: ['ts'],
    extensions: ['.ts', '.mts'],
    // Written as .mjs after stripping (docs/decisions/0001-typescript-stripping.md).
    sourceFile: 'main.mjs',
    candidates: ['<node>', 'node', '/usr/bin/node', '/usr/local/bin/node'],
    versionArgs: ['--version'],
    transform: 'typescript',
    // The stripped file carries an inline source map: stack traces point at the caller's lines.
    command: (tool, files, args) => [tool, '--enable-source-maps', files.source, ...args],
  },
  {
    id: 'bash',
    aliases: [],
    extensions: ['.bash'],
    sourceFile: 'main.bash',
    candidates: ['/bin/bash', '/usr/bin/bash', 'bash'],
    versionArgs: ['--version'],
    command: direct,
  },
  {
    id: 'sh',
    aliases: ['shell'],
    extensions: ['.sh'],
    sourceFile: 'main.sh',
    candidates: ['/bin/sh', '/usr/bin/sh'],
    // POSIX sh has no version flag; the version is that of the package behind /bin/sh.
    versionArgs: [],
    command: direct,
  },
  {
    id: 'ruby',
    aliases: ['rb'],
    extensions: ['.rb'],
    sourceFile: 'main.rb',
    candidates: ['ruby', '/usr/bin/ruby'],
    versionArgs: ['--version'],
    command: direct,
  },
  {
    id: 'perl',
    aliases: ['pl'],
    extensions: ['.pl'],
    sourceFile: 'main.pl',
    candidates: ['/usr/bin/perl', 'perl'],
    versionArgs: ['-e', 'print $^V'],
    command: direct,
  },
  {
    id: 'php',
    aliases: [],
    extensions: ['.php'],
    sourceFile: 'main.php',
    candidates: ['php', '/usr/bin/php'],
    versionArgs: ['--version'],
    // A snippet without `<?php` would be echoed as text; the tag goes on line 1 so line numbers hold.
    rewrite: (code) => (/<\?php/.test(code) ? code : `<?php ${code}`),
    command: direct,
  },
  {
    id: 'go',
    aliases: ['golang'],
    extensions: ['.go'],
    sourceFile: 'main.go',
    candidates: ['/usr/local/go/bin/go', 'go', '/usr/lib/go/bin/go'],
    versionArgs: ['version'],
    compile: (tool, files) => [tool, 'build', '-o', bin(files), files.source],
    command: (_tool, files, args) => [bin(files), ...args],
    // A private cache per run (a shared one could be poisoned by another run); offline, no toolchain download.
    env: (files) => ({
      GOCACHE: path.join(files.tmpDir, 'go-cache'),
      GOPATH: path.join(files.tmpDir, 'go-path'),
      GOPROXY: 'off',
      GOTOOLCHAIN: 'local',
      GOTELEMETRY: 'off',
      GO111MODULE: 'auto',
      CGO_ENABLED: '0',
    }),
  },
  {
    id: 'rust',
    aliases: ['rs'],
    extensions: ['.rs'],
    sourceFile: 'main.rs',
    // The rustup proxies in ~/.cargo/bin need RUSTUP_HOME and a home: use the toolchain's rustc itself.
    candidates: ['~/.rustup/toolchains/stable-*/bin/rustc', '~/.rustup/toolchains/*/bin/rustc', '/usr/bin/rustc', '/usr/local/bin/rustc', 'rustc'],
    versionArgs: ['--version'],
    compile: (tool, files) => [tool, '--edition', '2021', '-O', '-o', bin(files), files.source],
    command: (_tool, files, args) => [bin(files), ...args],
  },
  {
    id: 'c',
    aliases: [],
    extensions: ['.c'],
    sourceFile: 'main.c',
    candidates: ['/usr/bin/gcc', 'gcc', 'cc', 'clang'],
    versionArgs: ['--version'],
    compile: (tool, files) => [tool, '-std=gnu17', '-O2', '-o', bin(files), files.source, '-lm'],
    command: (_tool, files, args) => [bin(files), ...args],
  },
  {
    id: 'cpp',
    aliases: ['c++', 'cxx'],
    extensions: ['.cpp', '.cc', '.cxx'],
    sourceFile: 'main.cpp',
    candidates: ['/usr/bin/g++', 'g++', 'c++', 'clang++'],
    versionArgs: ['--version'],
    compile: (tool, files) => [tool, '-std=gnu++17', '-O2', '-o', bin(files), files.source],
    command: (_tool, files, args) => [bin(files), ...args],
  },
  {
    id: 'java',
    aliases: [],
    extensions: ['.java'],
    // javac requires a public class to live in a file of its name (JLS 7.6).
    sourceFile: javaSourceFile,
    // javac, not java: the launcher is its sibling, and a JRE without javac cannot compile.
    candidates: ['javac', '/usr/bin/javac'],
    versionArgs: ['-version'],
    // The compiler is a JVM too: the tiered/serial flags halve its start-up on small machines.
    compile: (tool, files) => [tool, '-J-XX:+UseSerialGC', '-J-XX:TieredStopAtLevel=1', '-d', files.buildDir, files.source],
    command: (tool, files, args) => [sibling(tool, 'java'), '-XX:+UseSerialGC', '-cp', files.buildDir, javaMainClass(files.code), ...args],
  },
  {
    id: 'r',
    aliases: ['rscript'],
    extensions: ['.r', '.R'],
    sourceFile: 'main.R',
    candidates: ['Rscript', '/usr/bin/Rscript'],
    versionArgs: ['--version'],
    command: (tool, files, args) => [tool, '--vanilla', files.source, ...args],
  },
];
