/**
 * Java's naming rules, for snippets: javac wants a public class in a file of its name, and the
 * launcher wants the name of the class holding `main`. Both are read from the source by pattern;
 * comments and strings are blanked first so that `// public class X` does not count.
 */
const IDENT = '[A-Za-z_$][\\w$]*';

function blankCommentsAndStrings(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, (m) => m.replace(/[^\n]/g, ' '));
}

/** The public top-level type's name, or undefined when there is none. */
export function javaPublicClass(code: string): string | undefined {
  const clean = blankCommentsAndStrings(code);
  const match = new RegExp(`(?:^|[;}\\s])public\\s+(?:(?:final|abstract|sealed|strictfp)\\s+)*(?:class|interface|enum|record)\\s+(${IDENT})`).exec(clean);
  return match?.[1];
}

export function javaSourceFile(code: string): string {
  return `${javaPublicClass(code) ?? 'Main'}.java`;
}

/** The class declared last before the first `main` method: the one the launcher must start. */
export function javaMainClass(code: string): string {
  const clean = blankCommentsAndStrings(code);
  const main = /\bstatic\s+(?:final\s+)?void\s+main\s*\(/.exec(clean);
  const head = main ? clean.slice(0, main.index) : clean;
  const classes = [...head.matchAll(new RegExp(`\\b(?:class|enum|record|interface)\\s+(${IDENT})`, 'g'))];
  return classes.at(-1)?.[1] ?? javaPublicClass(code) ?? 'Main';
}
