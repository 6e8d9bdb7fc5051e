/** Label selectors as the API server evaluates them. Pure. */
import { UsageError } from '../base/errors.js';
import { exclusive, objectNames } from '../base/parse.js';

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * Whether labels match a selector. An empty selector ({}) matches
 * everything; a missing one (undefined/null) matches nothing, as for a
 * policy/v1 PodDisruptionBudget.
 */
export function matchesSelector(
  selector: LabelSelector | undefined | null,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const value = l[req.key];
    switch (req.operator) {
      case 'In':
        if (!has || !(req.values ?? []).includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && (req.values ?? []).includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A selector as kubectl prints it: app=web,tier in (a,b). */
export function formatSelector(selector: LabelSelector | undefined | null): string {
  if (!selector) return '<none>';
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const r of selector.matchExpressions ?? []) {
    if (r.operator === 'Exists') parts.push(r.key);
    else if (r.operator === 'DoesNotExist') parts.push(`!${r.key}`);
    else parts.push(`${r.key} ${r.operator === 'In' ? 'in' : 'notin'} (${(r.values ?? []).join(',')})`);
  }
  return parts.length ? parts.join(',') : '<all>';
}

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function validKey(key: string): boolean {
  const slash = key.indexOf('/');
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : ['', key];
  if (slash >= 0 && (!PREFIX.test(prefix) || prefix.length > 253)) return false;
  return NAME_PART.test(name) && name.length <= 63;
}

function validValue(value: string): boolean {
  return VALUE.test(value) && value.length <= 63;
}

/**
 * Parses a label selector as kubectl writes it (a=b, a==b, a!=b, a in (x,y),
 * a notin (x), a, !a; comma-separated). Throws with the reason on bad input.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const out: Required<LabelSelector> = { matchLabels: {}, matchExpressions: [] };
  let rest = text.trim();
  if (rest === '') return out;
  const fail = (why: string): never => {
    throw new Error(why);
  };
  while (rest.length > 0) {
    let m: RegExpExecArray | null;
    if ((m = /^([^\s,=!()]+)\s+(in|notin)\s*\(([^)]*)\)\s*/.exec(rest))) {
      const values = m[3]!.split(',').map((v) => v.trim());
      if (!validKey(m[1]!)) fail(`"${m[1]}" is not a valid label key`);
      for (const v of values) if (!validValue(v)) fail(`"${v}" is not a valid label value`);
      out.matchExpressions.push({ key: m[1]!, operator: m[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((m = /^([^\s,=!()]+)\s*(==|=|!=)\s*([^\s,=!()]*)\s*/.exec(rest))) {
      if (!validKey(m[1]!)) fail(`"${m[1]}" is not a valid label key`);
      if (!validValue(m[3]!)) fail(`"${m[3]}" is not a valid label value`);
      if (m[2] === '!=') out.matchExpressions.push({ key: m[1]!, operator: 'NotIn', values: [m[3]!] });
      else out.matchLabels[m[1]!] = m[3]!;
    } else if ((m = /^(!?)\s*([^\s,=!()]+)\s*/.exec(rest))) {
      if (!validKey(m[2]!)) fail(`"${m[2]}" is not a valid label key`);
      out.matchExpressions.push({ key: m[2]!, operator: m[1] ? 'DoesNotExist' : 'Exists' });
    } else {
      fail(`cannot parse "${rest}"`);
    }
    rest = rest.slice(m![0].length);
    if (rest.startsWith(',')) {
      rest = rest.slice(1).trimStart();
      if (rest === '') fail('it ends with ","');
    } else if (rest.length > 0) fail(`expected "," before "${rest}"`);
  }
  return out;
}

/** A label selector flag: the text, checked as the API server will check it. */
export function labelSelectorFlag(flag: string, text: string): string {
  try {
    parseLabelSelector(text);
  } catch (err) {
    throw new UsageError(`invalid ${flag} "${text}": ${(err as Error).message}`, {
      hint: 'a label selector looks like app=web,tier!=db or "env in (prod,stage)"',
    });
  }
  return text;
}

/** Objects named as arguments, or selected with -l, never both and never neither. */
export function namesOrSelector(
  what: string,
  names: readonly string[],
  selector: string | undefined,
  usage: string,
): { names: string[]; selector?: string } {
  exclusive({ [`${what} names`]: names, '-l/--selector': selector });
  if (selector !== undefined && selector.trim() !== '')
    return { names: [], selector: labelSelectorFlag('-l/--selector', selector) };
  if (names.length === 0)
    throw new UsageError(`name at least one ${what}, or select them with -l/--selector`, { hint: usage });
  return { names: objectNames(what, names) };
}
