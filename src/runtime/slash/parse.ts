import { HangarError } from '../errors.js';

/**
 * Slash command text, one parser for execute_code (language "slash") and MCP prompts:
 *
 *     /name word word      ← the first line: the command and its words
 *     body…                ← everything after the first newline, byte for byte
 *
 * The body keeps its newlines and indentation. A body that is one fenced block (```lang … ```) is
 * unwrapped, since agents and people paste code that way.
 */
export interface SlashCommand {
  name: string;
  words: string[];
  body: string;
}

const NAME = /^\/([a-z][a-z0-9_-]{0,31})$/i;
const FENCE = /^```[^\n`]*\n([\s\S]*?)\n?```[ \t]*\n?$/;

export function parseSlash(text: string): SlashCommand {
  const trimmed = text.replace(/^\s*\n/, '').replace(/^[ \t]+/, '');
  const newline = trimmed.indexOf('\n');
  const head = (newline < 0 ? trimmed : trimmed.slice(0, newline)).trim();
  const rest = newline < 0 ? '' : trimmed.slice(newline + 1);
  const [first = '', ...words] = head.split(/\s+/).filter(Boolean);
  const match = NAME.exec(first);
  if (!match?.[1]) {
    throw new HangarError('INVALID_ARGUMENT', `slash text must start with a command such as "/help" or "/run python" on its first line (got "${first.slice(0, 40)}")`);
  }
  const fenced = FENCE.exec(rest.trim() === '' ? '' : rest.replace(/^\s*\n/, '').trimEnd() + '\n');
  return { name: match[1].toLowerCase().replace(/-/g, '_'), words, body: fenced?.[1] !== undefined ? fenced[1] : rest };
}

/** /quantum's body: variants separated by a line that is exactly `---` (spaces around allowed). */
export function splitVariants(body: string): string[] {
  return body
    .split(/^[ \t]*---[ \t]*$/m)
    .map((part) => part.replace(/^\n/, '').replace(/\n$/, ''))
    .filter((part) => part.trim() !== '');
}
