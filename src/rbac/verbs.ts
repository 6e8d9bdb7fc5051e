/** The verbs every resource type's API serves (or some of them): the columns of study-access's matrix. */
export const STANDARD_VERBS = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
] as const;

/** The verbs kubectl knows, for warnings as `kubectl auth can-i` gives them. Pure. */
export const RESOURCE_VERBS = [
  ...STANDARD_VERBS,
  'use',
  'bind',
  'impersonate',
  'escalate',
  'approve',
  'sign',
  'attest',
  '*',
] as const;
export const NON_RESOURCE_VERBS = ['get', 'put', 'post', 'head', 'options', 'delete', 'patch', '*'] as const;

/** A warning for a verb no request ever carries (a typo answers as if it were real). */
export function verbWarning(verb: string, nonResource: boolean): string | undefined {
  const known: readonly string[] = nonResource ? NON_RESOURCE_VERBS : RESOURCE_VERBS;
  if (known.includes(verb)) return undefined;
  const names = known.filter((v) => v !== '*').join(', ');
  return (
    `"${verb}" is not a known verb${nonResource ? ' for a non-resource URL' : ''} (known: ${names}); ` +
    'the answer treats it as written'
  );
}
