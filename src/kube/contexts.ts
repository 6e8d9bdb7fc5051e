/**
 * Which kubeconfig contexts a fleet question asks (--contexts, --all-contexts):
 * shell-style globs over context names, a leading "!" excluding. Pure.
 */
import { NotFoundError, UsageError } from '../base/errors.js';

/** --contexts as given: comma-separated patterns, each a glob ("prod-*", "eu-?", "[ab]-1") or "!glob". */
export function contextPatterns(text: string): string[] {
  const patterns = text.split(',').map((p) => p.trim());
  if (patterns.some((p) => p === '' || p === '!'))
    throw new UsageError(`--contexts "${text}" has an empty pattern`, {
      hint: 'give comma-separated context names or globs, e.g. --contexts "prod-*,!prod-old"',
    });
  for (const p of patterns) globRegExp(p.replace(/^!/, ''));
  return patterns;
}

/** A shell glob as a RegExp matching a whole name: * any text, ? one character, [abc] / [!a-z] one of a set. */
export function globRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0)
        throw new UsageError(`--contexts pattern "${glob}" has a "[" without its "]"`, {
          hint: 'close the set, as in "eu-[12]", or quote the name without brackets',
        });
      let set = glob.slice(i + 1, end);
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      source += `[${set.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else source += ch.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * The contexts the patterns select, in the kubeconfig's order: those any
 * including pattern matches (every context when all patterns exclude), less
 * those an excluding one matches. None selected is "not found", naming the
 * patterns and the contexts there are.
 */
export function selectContexts(names: readonly string[], patterns: readonly string[] | 'all'): string[] {
  if (names.length === 0)
    throw new NotFoundError('the kubeconfig defines no contexts', {
      hint: 'set KUBECONFIG or pass --kubeconfig; "kubectl study-ctx" lists what it finds',
    });
  if (patterns === 'all') return [...names];
  const include = patterns.filter((p) => !p.startsWith('!')).map(globRegExp);
  const exclude = patterns.filter((p) => p.startsWith('!')).map((p) => globRegExp(p.slice(1)));
  const chosen = names.filter(
    (n) => (include.length === 0 || include.some((re) => re.test(n))) && !exclude.some((re) => re.test(n)),
  );
  if (chosen.length === 0) {
    const shown = names.slice(0, 12).join(', ') + (names.length > 12 ? `, and ${names.length - 12} more` : '');
    throw new NotFoundError(`no context matches --contexts "${patterns.join(',')}"`, {
      hint: `the contexts are: ${shown}`,
    });
  }
  return chosen;
}

/** A question asked of many contexts: which, how many at once, and each one's own deadline. */
export interface FleetOptions {
  contexts: string[] | 'all';
  /** Contexts asked at once (--parallel, default 8). */
  parallel: number;
  /** --context-timeout: one context's whole answer; undefined: the default (a minute, plus what the command waits). */
  contextTimeoutMs?: number;
  /** -o json --stream: one JSON line per context as it finishes. */
  stream: boolean;
}

export const FLEET_DEFAULTS = { parallel: 8, contextTimeoutMs: 60_000 } as const;
