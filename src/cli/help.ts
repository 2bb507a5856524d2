import { SERVE_FLAGS } from '../config/flags.js';

export function helpText(version: string): string {
  const width = Math.max(...SERVE_FLAGS.map((s) => s.flag.length + (s.kind === 'boolean' ? 0 : 6)));
  const flags = SERVE_FLAGS.map((s) => {
    const name = s.kind === 'boolean' ? `--${s.flag}` : `--${s.flag} VALUE`;
    return `  ${name.padEnd(width + 4)}${s.help} [${s.env}]`;
  }).join('\n');
  return `hangar ${version}: an MCP server that gives AI agents a safe place to run code

Usage:
  hangar [serve] [flags]          serve MCP (stdio by default; --transport http for HTTP)
  hangar run [--language L] [--timeout S] [--stdin TEXT] CODE
                                  run one snippet and print its output (CODE "-" reads stdin);
                                  exit code is the program's (124 timeout, 137 killed)
  hangar doctor [--json]          what this machine offers: languages, sandbox, cgroups, git
  hangar --version | --help

Flags (each also an environment variable, and a key in --config FILE):
  --config FILE${' '.repeat(Math.max(1, width - 7))}JSON file with the keys below; flags and variables override it
${flags}
`;
}

export function connectHint(): string {
  return `hangar: serving MCP on stdio. Connect a client by giving it this command, e.g.
  Claude Code:     claude mcp add hangar -- npx hangar
  Claude Desktop:  "mcpServers": { "hangar": { "command": "npx", "args": ["hangar"] } }
  Over HTTP:       hangar --transport http   (then http://127.0.0.1:8080/mcp)
Press Ctrl-C to stop.
`;
}
