/**
 * The language table: adding a language is one entry. Each entry says how to find its toolchain
 * (absolute paths only: a PATH shim such as pyenv's costs tens of milliseconds per start) and how
 * to turn a source file into a command line.
 */
export interface LanguageEntry {
  id: string;
  aliases: string[];
  extensions: string[];
  /** File name the code is written to before it runs. */
  sourceFile: string;
  /** Programs to look for, in order: names searched on PATH (shims skipped) or absolute paths. */
  candidates: string[];
  versionArgs: string[];
  /** Command line for a source file; `tool` is the resolved program. */
  command(tool: string, sourcePath: string, args: string[]): string[];
}

export const LANGUAGE_TABLE: readonly LanguageEntry[] = [
  {
    id: 'python',
    aliases: ['py', 'python3'],
    extensions: ['.py'],
    sourceFile: 'main.py',
    candidates: ['python3', '/usr/bin/python3', '/usr/local/bin/python3'],
    versionArgs: ['--version'],
    // -u: output reaches the agent in order even when the run is killed; -B: no .pyc in the workspace.
    command: (tool, src, args) => [tool, '-u', '-B', src, ...args],
  },
  {
    id: 'javascript',
    aliases: ['js', 'node', 'nodejs'],
    extensions: ['.js', '.mjs', '.cjs'],
    sourceFile: 'main.mjs',
    candidates: ['<node>', 'node', '/usr/bin/node', '/usr/local/bin/node'],
    versionArgs: ['--version'],
    command: (tool, src, args) => [tool, src, ...args],
  },
  {
    id: 'bash',
    aliases: [],
    extensions: ['.bash'],
    sourceFile: 'main.bash',
    candidates: ['/bin/bash', '/usr/bin/bash', 'bash'],
    versionArgs: ['--version'],
    command: (tool, src, args) => [tool, src, ...args],
  },
  {
    id: 'sh',
    aliases: ['shell'],
    extensions: ['.sh'],
    sourceFile: 'main.sh',
    candidates: ['/bin/sh', '/usr/bin/sh'],
    // POSIX sh has no version flag; the version is that of the package behind /bin/sh.
    versionArgs: [],
    command: (tool, src, args) => [tool, src, ...args],
  },
];
