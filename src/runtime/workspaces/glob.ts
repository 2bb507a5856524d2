/**
 * A small glob for list patterns: `*` and `?` stay within a path component, `**` crosses them,
 * `{a,b}` alternates. A pattern without "/" matches the file name, else the relative path.
 */
export function globMatcher(pattern: string): (relativePath: string) => boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*' && pattern[i + 1] === '*') {
      source += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '{') source += '(?:';
    else if (c === '}') source += ')';
    else if (c === ',') source += '|';
    else source += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  const regex = new RegExp(`^${source}$`);
  const byName = !pattern.includes('/');
  return (rel) => regex.test(byName ? (rel.split('/').at(-1) ?? rel) : rel);
}
