import { HangarError } from '../errors.js';

/**
 * workspace_edit_file's matching, in order of strictness: the exact text; then line by line
 * ignoring trailing whitespace; then line by line ignoring indentation (the new text is re-indented
 * to where the match was). The first strategy that finds anything decides; its match must be
 * unique unless every occurrence is to be replaced.
 */
export type EditStrategy = 'exact' | 'trailing_whitespace' | 'indentation';

export interface EditOutcome {
  text: string;
  replacements: number;
  strategy: EditStrategy;
}

export function applyEdit(text: string, oldString: string, newString: string, replaceAll: boolean): EditOutcome {
  if (oldString.length === 0) {
    throw new HangarError('INVALID_ARGUMENT', 'old_string is empty; give the text to replace (to create a file use workspace_write_file)');
  }
  if (oldString === newString) throw new HangarError('INVALID_ARGUMENT', 'old_string and new_string are the same; nothing to change');

  const exact = countExact(text, oldString);
  if (exact > 0) {
    checkUnique(exact, replaceAll, 'exactly');
    const replaced = replaceAll ? text.split(oldString).join(newString) : text.replace(oldString, () => newString);
    return { text: replaced, replacements: replaceAll ? exact : 1, strategy: 'exact' };
  }
  for (const strategy of ['trailing_whitespace', 'indentation'] as const) {
    const outcome = lineEdit(text, oldString, newString, replaceAll, strategy);
    if (outcome) return outcome;
  }
  throw new HangarError(
    'INVALID_ARGUMENT',
    'old_string was not found in the file (not exactly, nor ignoring trailing whitespace or indentation); read the file again and copy the text to replace',
  );
}

function countExact(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}

function checkUnique(count: number, replaceAll: boolean, how: string): void {
  if (count > 1 && !replaceAll) {
    throw new HangarError(
      'INVALID_ARGUMENT',
      `old_string matches ${count} places (${how}); include more surrounding lines to make it unique, or pass replace_all: true to replace all ${count}`,
    );
  }
}

function toLines(value: string): string[] {
  const lines = value.split('\n');
  // A trailing newline ends the last line; it does not start an empty one.
  if (lines.length > 1 && lines.at(-1) === '') lines.pop();
  return lines;
}

const leading = (line: string): string => /^[ \t]*/.exec(line)?.[0] ?? '';

function lineEdit(text: string, oldString: string, newString: string, replaceAll: boolean, strategy: Exclude<EditStrategy, 'exact'>): EditOutcome | undefined {
  const normalize = strategy === 'trailing_whitespace' ? (l: string) => l.trimEnd() : (l: string) => l.trim();
  const fileLines = text.split('\n');
  const wanted = toLines(oldString).map(normalize);
  if (wanted.every((l) => l === '')) return undefined;
  const matches: number[] = [];
  for (let i = 0; i + wanted.length <= fileLines.length; ) {
    let ok = true;
    for (let j = 0; j < wanted.length && ok; j++) ok = normalize(fileLines[i + j] ?? '') === wanted[j];
    if (ok) {
      matches.push(i);
      i += wanted.length;
    } else i++;
  }
  if (matches.length === 0) return undefined;
  checkUnique(matches.length, replaceAll, strategy === 'trailing_whitespace' ? 'ignoring trailing whitespace' : 'ignoring indentation');
  const chosen = replaceAll ? matches : matches.slice(0, 1);
  const oldLines = toLines(oldString);
  const oldIndent = leading(oldLines.find((l) => l.trim() !== '') ?? '');
  for (const start of [...chosen].reverse()) {
    const matched = fileLines.slice(start, start + wanted.length);
    const crlf = matched[0]?.endsWith('\r') ?? false;
    const fileIndent = leading(matched.find((l) => l.trim() !== '') ?? '');
    const replacement = (newString === '' ? [] : toLines(newString)).map((line) => {
      let out = line;
      if (strategy === 'indentation' && line.trim() !== '') out = line.startsWith(oldIndent) ? fileIndent + line.slice(oldIndent.length) : fileIndent + line.trimStart();
      return crlf && !out.endsWith('\r') ? `${out}\r` : out;
    });
    fileLines.splice(start, wanted.length, ...replacement);
  }
  return { text: fileLines.join('\n'), replacements: chosen.length, strategy };
}
