// Path patterns for behaviors, in CloudFront's syntax: `*` matches any run of characters (slashes
// included), `?` exactly one, everything else literally. The common shapes (`*`, `/prefix/*`,
// `*.css`, an exact path) compile to string tests instead of regular expressions.

export type PathTest = (path: string) => boolean;

function escapeRegExp(s: string): string {
  return s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

export function compilePathPattern(pattern: string): PathTest {
  if (pattern === '*') return () => true;
  const stars = pattern.split('*').length - 1;
  if (!pattern.includes('?')) {
    if (stars === 0) return (p) => p === pattern;
    if (stars === 1 && pattern.endsWith('*')) {
      const prefix = pattern.slice(0, -1);
      return (p) => p.startsWith(prefix);
    }
    if (stars === 1 && pattern.startsWith('*')) {
      const suffix = pattern.slice(1);
      return (p) => p.endsWith(suffix);
    }
  }
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegExp(c)))
    .join('');
  const re = new RegExp(`^${source}$`, 's');
  return (p) => re.test(p);
}
