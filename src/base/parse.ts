/**
 * The parsers every command's options go through, so that the same flag
 * text means the same thing everywhere and a bad one is the same usage
 * error everywhere. Pure.
 */
import { parseDuration } from './duration.js';
import { UsageError } from './errors.js';

export interface DurationRule {
  /** Whether 0 is allowed (it then means "no limit"). */
  zero?: boolean;
  /** A bare number counts as seconds (kubectl's --request-timeout only; elsewhere, as in Go, a unit is required). */
  bareSeconds?: boolean;
}

/** A kubectl duration flag (30s, 5m, 1h30m; 0 for none where allowed) in milliseconds. */
export function durationFlag(flag: string, text: string, rule: DurationRule = {}): number {
  const ms = parseDuration(text, { bareSeconds: rule.bareSeconds ?? false });
  const zeroOk = rule.zero ?? true;
  if (ms === undefined || ms < 0 || (!zeroOk && ms === 0)) {
    throw new UsageError(`invalid ${flag} "${text}"`, {
      hint: `${flag} takes a duration with a unit, such as 30s, 5m or 1h30m${zeroOk ? ' (0: no limit)' : ''}`,
    });
  }
  if (ms > LONGEST_WAIT_MS) {
    throw new UsageError(
      `${flag} "${text}" is longer than the longest wait kubectl-study can keep (${LONGEST_WAIT_TEXT})`,
      {
        hint: `give ${flag} ${LONGEST_WAIT_TEXT} or less${zeroOk ? ', or 0 for no limit' : ''}`,
      },
    );
  }
  return ms;
}

/** Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer one would fire at once. */
export const LONGEST_WAIT_MS = 2 ** 31 - 1;
const LONGEST_WAIT_TEXT = '596h';

export interface IntRule {
  min?: number;
  max?: number;
}

/** A whole-number flag within bounds. */
export function intFlag(flag: string, text: string, rule: IntRule = {}): number {
  const trimmed = text.trim();
  const n = Number(trimmed);
  const min = rule.min ?? Number.MIN_SAFE_INTEGER;
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^[-+]?\d+$/.test(trimmed) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = rule.max !== undefined ? `from ${min} to ${max}` : rule.min !== undefined ? `of at least ${min}` : '';
    throw new UsageError(`${flag} takes a whole number${range ? ` ${range}` : ''}, not "${text}"`, {
      hint: `for example ${flag} ${Math.max(min, Math.min(max, 1))}`,
    });
  }
  return n;
}

/** kubectl's boolean flag values (--watch=false). */
export function boolFlag(flag: string, value: string | boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || /^(true|t|1)$/i.test(String(value))) return true;
  if (value === false || /^(false|f|0)$/i.test(String(value))) return false;
  throw new UsageError(`${flag} takes true or false, not "${String(value)}"`);
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The rules the API server applies to names, one per kind of name: most
 * objects' (a DNS-1123 subdomain); namespaces', services' and
 * StatefulSets' (a DNS-1123 label); RBAC objects' (a path segment: any text
 * without "/" or "%", "system:controller:x" included); signers'
 * (DOMAIN/PATH); and what only a request carries (a user, a group, a UID:
 * any text an HTTP header can hold, "system:masters" included).
 */
export type NameRule = 'dns-subdomain' | 'dns-label' | 'path-segment' | 'signer' | 'any';

const NAME_RULES: Record<NameRule, { valid(text: string): boolean; takes: string }> = {
  'dns-subdomain': {
    valid: (t) => DNS1123_SUBDOMAIN.test(t) && t.length <= 253,
    takes: 'lower-case letters, digits, "-" and ".", at most 253 characters',
  },
  'dns-label': {
    valid: (t) => DNS1123_LABEL.test(t) && t.length <= 63,
    takes: 'lower-case letters, digits and "-", at most 63 characters',
  },
  'path-segment': {
    valid: (t) => t !== '' && t !== '.' && t !== '..' && !/[/%]/.test(t) && !hasControlCharacters(t),
    takes: 'any text but "." and ".." without "/" or "%" (such as system:controller:node-controller)',
  },
  signer: {
    valid: (t) => {
      const [domain = '', path, extra] = t.split('/');
      return (
        extra === undefined &&
        path !== undefined &&
        DNS1123_SUBDOMAIN.test(domain) &&
        domain.includes('.') &&
        (path === '*' || (DNS1123_SUBDOMAIN.test(path.toLowerCase()) && path.length <= 316))
      );
    },
    takes: 'DOMAIN/PATH, such as kubernetes.io/kube-apiserver-client (example.com/* for every signer of a domain)',
  },
  any: {
    valid: (t) => t !== '' && !hasControlCharacters(t),
    takes: 'any text without a line break or another control character (such as system:masters)',
  },
};

/** A name as the API takes names of its kind (`rule`); `what` names the kind in the message: "node". */
export function nameArg(rule: NameRule, what: string, text: string): string {
  if (!NAME_RULES[rule].valid(text)) {
    // Quoted as JSON: a line break shows as \n, and the error stays one line.
    throw new UsageError(`${text === '' ? 'an empty name' : JSON.stringify(text)} is not a valid ${what} name`, {
      hint: `${what} names are ${NAME_RULES[rule].takes}`,
    });
  }
  return text;
}

/** A namespace name (a DNS-1123 label). */
export function namespaceName(flag: string, text: string): string {
  if (!NAME_RULES['dns-label'].valid(text)) {
    throw new UsageError(
      `${text === '' ? 'an empty name' : JSON.stringify(text)} is not a valid namespace name (${flag})`,
      {
        hint: `namespace names are ${NAME_RULES['dns-label'].takes}`,
      },
    );
  }
  return text;
}

/** An object name such as a node's or a Deployment's (a DNS-1123 subdomain). */
export function objectName(what: string, text: string): string {
  return nameArg('dns-subdomain', what, text);
}

/** Names given as arguments: each valid, none twice. */
export function objectNames(what: string, names: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const n of names) {
    objectName(what, n);
    if (seen.has(n)) throw new UsageError(`${what} "${n}" is named twice`, { hint: `name each ${what} once` });
    seen.add(n);
  }
  return [...names];
}

/** Flags that cannot go together. */
export function exclusive(flags: Record<string, unknown>): void {
  const set = Object.entries(flags).filter(
    ([, v]) => v !== undefined && v !== false && v !== '' && !(Array.isArray(v) && v.length === 0),
  );
  if (set.length > 1)
    throw new UsageError(`${set.map(([k]) => k).join(' and ')} cannot be used together`, {
      hint: `keep one of ${set.map(([k]) => k).join(', ')}`,
    });
}

/** kubectl's --dry-run[=none|client|server]: all but none mean "change nothing". */
export function dryRunFlag(value: string | boolean | undefined): boolean {
  if (value === undefined || value === false) return false;
  if (value === true) return true;
  // kubectl still takes the old booleans (true meaning client).
  if (value === 'true' || value === 'false') return value === 'true';
  if (!['none', 'client', 'server'].includes(value)) {
    throw new UsageError(`invalid --dry-run "${value}"`, {
      hint: '--dry-run takes none, client or server (all but none change nothing)',
    });
  }
  return value !== 'none';
}

/** A value that goes into an HTTP header (--as, --as-group, --as-uid): no line break or control character. */
export function headerValue(flag: string, text: string): string {
  if (hasControlCharacters(text)) {
    throw new UsageError(`${flag} holds a line break or another control character`, {
      hint: `give ${flag} the name as plain text`,
    });
  }
  return text;
}

/** A line break or another control character (a tab is allowed): what no HTTP header can carry. */
export function hasControlCharacters(text: string): boolean {
  // oxlint-disable-next-line no-control-regex -- finding control characters is the point
  return /[\x00-\x08\x0a-\x1f\x7f]/.test(text);
}
