/** Human output of whocan and study-access. */
import type { Rows } from '../base/run.js';
import { NONE, renderTable } from '../base/table.js';
import { plural } from '../base/text.js';
import { paint } from '../base/terminal.js';
import { answeredByServer, MATRIX_VERBS, type AccessMatrix, type WhyResult } from './access.js';
import { describeBinding, describeRule, type RequestAttributes } from './match.js';
import type { Verified, WhoCanResult } from './whocan.js';

/** RESOURCE[/SUBRESOURCE][.GROUP][ NAME], as the messages name what is asked about. */
function resourceText(request: RequestAttributes): string {
  const { resource, subresource, apiGroup, name } = request;
  return `${resource}${subresource ? `/${subresource}` : ''}${apiGroup ? `.${apiGroup}` : ''}${name ? ` ${name}` : ''}`;
}

function requestText(request: WhoCanResult['request']): string {
  if (request.path !== undefined) return `${request.verb} ${request.path}`;
  const scope = request.allNamespaces
    ? ' in any namespace'
    : request.namespace
      ? ` in namespace ${request.namespace}`
      : ' (cluster-wide)';
  return `${request.verb} ${resourceText(request)}${scope}`;
}

function verifiedCell(verified: Verified | undefined, colour: boolean): string {
  if (verified === undefined) return '';
  if (typeof verified === 'object') return paint(colour, 'yellow', 'error');
  return verified ? paint(colour, 'green', 'yes') : paint(colour, 'red', 'NO');
}

/** What could not be read or confirmed, in words: "you may not list roles; confirm with ...". */
export function missingText(missing: string[]): string {
  return missing.map((m) => (m.startsWith('confirm') ? m : `you may not ${m}`)).join('; ');
}

function incompleteLine(missing: string[], colour: boolean, consequence: string): string {
  return `\n${paint(colour, 'yellow', 'INCOMPLETE')}: ${missingText(missing)}: ${consequence}\n`;
}

export function renderWhoCan(result: WhoCanResult, wide: boolean, colour: boolean): string {
  let out = result.incomplete
    ? `${paint(colour, 'yellow', 'INCOMPLETE')} answer: who can ${requestText(result.request)}:\n`
    : `Who can ${requestText(result.request)}:\n`;
  if (result.subjects.length) {
    const { headers, rows } = whoCanRows(result, wide, colour);
    out += renderTable(headers, rows);
  } else {
    out += result.incomplete ? 'No subject found in what could be read.\n' : 'No subject is allowed this by RBAC.\n';
  }
  for (const s of result.superusers) out += `${s}: superuser, allowed without any binding\n`;
  if (result.nearMisses.length) {
    out += '\nNear misses:\n';
    for (const miss of result.nearMisses)
      out +=
        `  ${miss.code}: ${describeBinding(miss.binding)} (${miss.role.kind}/${miss.role.name}): ` +
        `${miss.message}\n`;
  }
  if (result.disagreements.length) {
    const subjects = result.disagreements.map((d) => d.subject.name).join(', ');
    out += `\n${paint(colour, 'red', 'The API server disagrees')} for: ${subjects}\n`;
  }
  if (result.incomplete)
    out += incompleteLine(
      result.missing,
      colour,
      'subjects granted through what could not be read or confirmed may be missing or unconfirmed',
    );
  // The first note (system:masters) is said above, as the superusers' line.
  out += `\n${result.notes
    .slice(1)
    .map((n) => `Note: ${n}.\n`)
    .join('')}`;
  return out;
}

/** whocan's table: a row per subject and grant. */
export function whoCanRows(result: WhoCanResult, wide: boolean, colour: boolean): Rows {
  const verify = result.subjects.some((s) => s.verified !== undefined);
  const headers = ['SUBJECT', 'KIND', 'BINDING', 'ROLE', 'SCOPE'];
  if (wide) headers.push('RULE', 'REACHES');
  if (verify) headers.push('VERIFIED');
  const rows = result.subjects.map((s) => {
    const row = [
      subjectName(s.subject),
      s.subject.kind,
      describeBinding(s.binding),
      `${s.role.kind}/${s.role.name}`,
      s.scope,
    ];
    if (wide) row.push(describeRule(s.rule), s.reaches);
    if (verify) row.push(verifiedCell(s.verified, colour));
    return row;
  });
  // The superusers (system:masters) are rows of the table already, through cluster-admin.
  const notes = [
    ...(result.disagreements.length
      ? [`the API server disagrees for: ${result.disagreements.map((d) => d.subject.name).join(', ')}`]
      : []),
    ...(result.incomplete ? [`INCOMPLETE: ${missingText(result.missing)}`] : []),
  ];
  return {
    headers,
    rows,
    empty: result.incomplete ? '(no subject found in what could be read)' : '(no subject is allowed this by RBAC)',
    notes,
  };
}

function subjectName(subject: WhoCanResult['subjects'][number]['subject']): string {
  return subject.kind === 'ServiceAccount' ? `${subject.namespace}/${subject.name}` : subject.name;
}

/**
 * RBAC drift across contexts: the subjects allowed in some of them and not
 * in others ("User jane: allowed in 2 of 3: prod-eu, staging"), counted over
 * the contexts whose answer is whole; an INCOMPLETE answer cannot say who is
 * not allowed, so those contexts are named apart. Pure.
 */
export function whoCanDrift(answers: ReadonlyArray<{ context: string; result: WhoCanResult }>): string[] {
  const whole = answers.filter((a) => !a.result.incomplete);
  const partial = answers.filter((a) => a.result.incomplete).map((a) => a.context);
  const unknown = partial.length ? [`Not compared (INCOMPLETE answers): ${partial.join(', ')}.`] : [];
  if (whole.length < 2) return unknown;
  const where = new Map<string, Set<string>>();
  for (const { context, result } of whole)
    for (const s of result.subjects) {
      const key = `${s.subject.kind} ${subjectName(s.subject)}`;
      where.set(key, (where.get(key) ?? new Set()).add(context));
    }
  const drift = [...where].filter(([, contexts]) => contexts.size < whole.length);
  if (drift.length === 0)
    return [`The same subjects are allowed in all ${whole.length} contexts compared.`, ...unknown];
  return [
    `Allowed in some contexts and not in others (${drift.length} ${plural(drift.length, 'subject')}):`,
    ...drift
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([key, contexts]) => `  ${key}: allowed in ${contexts.size} of ${whole.length}: ${[...contexts].join(', ')}`,
      ),
    ...unknown,
  ];
}

/** study-access's matrix as rows: the resources with something allowed. */
export function matrixRows(matrix: AccessMatrix, colour: boolean): Rows {
  const rulesComplete = matrix.missing.every((m) => m.startsWith('confirm'));
  const rows = matrix.rows
    .filter((r) =>
      Object.values(r.cells).some(
        (c) => c?.allowed || c?.namesOnly || c?.verified === true || typeof c?.verified === 'object',
      ),
    )
    .map((r) => [
      `${r.resource}${r.group ? `.${r.group}` : ''}`,
      r.namespaced ? 'ns' : 'cluster',
      ...MATRIX_VERBS.map((v) => matrixCell(r.cells[v], colour, rulesComplete)),
    ]);
  return {
    headers: ['RESOURCE', 'SCOPE', ...MATRIX_VERBS.map((v) => v.toUpperCase())],
    rows,
    empty: '(nothing is allowed)',
    notes: [
      `${matrix.subject.username} in namespace ${matrix.namespace}`,
      ...matrix.risky.map((r) => `risky: ${r.permission} (${r.scope}) via ${r.path}`),
      ...(matrix.disagreements.length ? [`disagreements (marked !): ${matrix.disagreements.length}`] : []),
      ...(matrix.incomplete ? [`INCOMPLETE: ${missingText(matrix.missing)}`] : []),
    ],
  };
}

/** study-access why as one row: the answer, and the chains that grant it. */
export function whyRows(result: WhyResult): Rows {
  const server = typeof result.verified === 'boolean' ? result.verified : undefined;
  const may = server ?? (result.allowed || result.superuser);
  const by = server === undefined ? 'RBAC' : result.confirmedBy;
  const chains = result.grants.map((g) => g.path);
  return {
    headers: ['SUBJECT', 'ANSWER', 'BY', 'GRANTED THROUGH'],
    rows: [
      [
        result.subject.username,
        may ? 'yes' : 'no',
        by,
        chains.join('\n') || (result.superuser ? 'system:masters' : NONE),
      ],
    ],
    empty: '',
    notes: result.incomplete ? [`INCOMPLETE: ${missingText(result.missing)}`] : [],
  };
}

function matrixCell(
  cell: { allowed: boolean; namesOnly?: string[]; verified?: Verified } | undefined,
  colour: boolean,
  rulesComplete: boolean,
): string {
  if (!cell) return ' ';
  if (typeof cell.verified === 'object') return paint(colour, 'yellow', 'error');
  if (!rulesComplete && !cell.allowed && cell.verified === true) return paint(colour, 'green', 'yes');
  const mark = cell.allowed ? paint(colour, 'green', 'yes') : cell.namesOnly ? paint(colour, 'yellow', 'names') : '-';
  return cell.verified !== undefined && cell.verified !== cell.allowed ? `${mark}!` : mark;
}

export function renderMatrix(matrix: AccessMatrix, colour: boolean): string {
  const { subject } = matrix;
  let out =
    `Access of ${subject.username} (groups ${subject.groups.join(', ') || 'none'}) in namespace ${matrix.namespace}; ` +
    'cluster-scoped resources cluster-wide.\n';
  const whole = answeredByServer(matrix);
  if (matrix.incomplete && whole)
    out += `Answered by the API server (${matrix.confirmedBy}): the RBAC rules could not all be read (see INCOMPLETE).\n\n`;
  else {
    const confirmed =
      matrix.confirmedBy === 'none'
        ? ' (you may not create SubjectAccessReviews, so it is not confirmed)'
        : `, confirmed by ${matrix.confirmedBy}`;
    out += `Computed from RBAC rules${confirmed}.\n\n`;
  }
  const { headers, rows } = matrixRows(matrix, colour);
  out += rows.length
    ? renderTable(headers, rows)
    : matrix.incomplete && !whole
      ? 'Nothing found allowed in what could be read.\n'
      : 'Nothing is allowed.\n';
  const hidden = matrix.rows.length - rows.length;
  if (hidden) out += `(${hidden} resource types with nothing allowed are not shown; -o json has them all)\n`;
  if (matrix.risky.length) {
    out += '\nRisky permissions:\n';
    for (const risky of matrix.risky)
      out +=
        `  ${paint(colour, 'red', risky.permission)} (${risky.scope}): ${risky.consequence}\n` +
        `      via ${risky.path}\n`;
  }
  if (matrix.disagreements.length)
    out += `\n${paint(colour, 'red', 'Disagreements')} (marked !): ${matrix.disagreements
      .map((d) => `${d.verb} ${d.resource}: RBAC ${d.rbac ? 'yes' : 'no'}, API server ${d.apiServer ? 'yes' : 'no'}`)
      .join('; ')}\n`;
  if (matrix.incomplete)
    out += incompleteLine(
      matrix.missing,
      colour,
      whole
        ? "the cells are the API server's answers; the paths that grant them may be missing"
        : 'the matrix may be missing what was granted through it',
    );
  for (const n of matrix.notes) out += `Note: ${n}.\n`;
  return out;
}

/**
 * The answer first (the API server's, where it gave one), then the rules
 * that explain it; where the rules could not all be read, INCOMPLETE says
 * what the explanation lacks.
 */
export function renderWhy(result: WhyResult): string {
  const req = result.request;
  const user = result.subject.username;
  const what = `${req.verb} ${resourceText(req)}${req.namespace ? ` in ${req.namespace}` : ''}`;
  const server = typeof result.verified === 'boolean' ? result.verified : undefined;
  const by = result.confirmedBy;
  let out: string;
  if (result.allowed) {
    out = `${user} may ${what}:\n`;
    if (server === false) out = `${user} may not ${what}: the API server denies it (${by}), though RBAC grants it:\n`;
  } else if (server === true || (server === undefined && result.superuser)) {
    const why = result.superuser
      ? 'the subject is in system:masters, which the API server allows everything without RBAC'
      : result.incomplete
        ? `the API server allows it (${by}); no rule in what could be read grants it`
        : `the API server allows it (${by}), though no RBAC rule grants it: another authorizer (Node, Webhook, ABAC) does`;
    out = `${user} may ${what}: ${why}.\n`;
  } else {
    out = `no rule grants ${user} ${what}.\n`;
    if (server === false && result.incomplete) out += `The API server denies it (${by}): the answer is no.\n`;
  }
  for (const g of result.grants) out += `  ${g.path}\n`;
  if (result.nearMisses.length) out += `Near misses:\n${result.nearMisses.map((n) => `  ${n}\n`).join('')}`;
  if (result.superuser && result.allowed)
    out += 'Note: the subject is in system:masters, which the API server allows everything without RBAC.\n';
  if (result.incomplete) {
    const lacks =
      server === undefined
        ? 'a rule that grants it may be in what could not be read'
        : 'the explanation may lack the bindings and rules that could not be read';
    out += `INCOMPLETE: ${missingText(result.missing)}: ${lacks}\n`;
  }
  return out;
}
