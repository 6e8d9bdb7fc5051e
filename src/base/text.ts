/** Words for people: a noun (or verb) agreeing with its count, and a long list cut short. Pure. */

/** The word as it goes with `count`: plural(1, 'node') -> 'node', plural(3, 'node') -> 'nodes'. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return count === 1 ? singular : pluralForm;
}

/**
 * The first `max` items joined by `separator`, then how many are left out:
 * "a, b, c and 2 more", or with `parenthesized` "a; b (and 2 more)".
 */
export function firstAndMore(
  items: readonly string[],
  max: number,
  { separator = ', ', parenthesized = false }: { separator?: string; parenthesized?: boolean } = {},
): string {
  const shown = items.slice(0, max).join(separator);
  if (items.length <= max) return shown;
  const more = `and ${items.length - max} more`;
  return parenthesized ? `${shown} (${more})` : `${shown} ${more}`;
}
