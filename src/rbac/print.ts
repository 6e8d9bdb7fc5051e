/** Human output of whocan and study-access. */
import { renderTable } from '../base/table.js';
import { paint } from '../base/terminal.js';
import { MATRIX_VERBS, type AccessMatrix, type WhyResult } from './access.js';
import { describeRule } from './match.js';
import type { Verified, WhoCanResult } from './whocan.js';

function requestText(r: WhoCanResult['request']): string {
  if (r.path !== undefined) return `${r.verb} ${r.path}`;
  const res = `${r.resource}${r.subresource ? `/${r.subresource}` : ''}${r.apiGroup ? `.${r.apiGroup}` : ''}${r.name ? ` ${r.name}` : ''}`;
  return `${r.verb} ${res}${r.allNamespaces ? ' in any namespace' : r.namespace ? ` in namespace ${r.namespace}` : ' (cluster-wide)'}`;
}

function verifiedCell(v: Verified | undefined, colour: boolean): string {
  if (v === undefined) return '';
  if (typeof v === 'object') return paint(colour, 'yellow', 'error');
  return v ? paint(colour, 'green', 'yes') : paint(colour, 'red', 'NO');
}

function incompleteLine(missing: string[], colour: boolean, consequence: string): string {
  return `\n${paint(colour, 'yellow', 'INCOMPLETE')}: ${missing.map((m) => (m.startsWith('confirm') ? m : `you may not ${m}`)).join('; ')}: ${consequence}\n`;
}

export function renderWhoCan(r: WhoCanResult, wide: boolean, colour: boolean): string {
  let out = r.incomplete
    ? `${paint(colour, 'yellow', 'INCOMPLETE')} answer: who can ${requestText(r.request)}:\n`
    : `Who can ${requestText(r.request)}:\n`;
  const verify = r.subjects.some((s) => s.verified !== undefined);
  if (r.subjects.length) {
    const headers = ['SUBJECT', 'KIND', 'BINDING', 'ROLE', 'SCOPE'];
    if (wide) headers.push('RULE', 'REACHES');
    if (verify) headers.push('VERIFIED');
    const rows = r.subjects.map((s) => {
      const row = [
        s.subject.kind === 'ServiceAccount' ? `${s.subject.namespace}/${s.subject.name}` : s.subject.name,
        s.subject.kind,
        `${s.binding.kind}/${s.binding.namespace ? `${s.binding.namespace}/` : ''}${s.binding.name}`,
        `${s.role.kind}/${s.role.name}`,
        s.scope,
      ];
      if (wide) row.push(describeRule(s.rule), s.reaches);
      if (verify) row.push(verifiedCell(s.verified, colour));
      return row;
    });
    out += renderTable(headers, rows);
  } else {
    out += r.incomplete ? 'No subject found in what could be read.\n' : 'No subject is allowed this by RBAC.\n';
  }
  for (const s of r.superusers) out += `${s}: superuser, allowed without any binding\n`;
  if (r.nearMisses.length) {
    out += '\nNear misses:\n';
    for (const m of r.nearMisses)
      out += `  ${m.code}: ${m.binding.kind}/${m.binding.namespace ? `${m.binding.namespace}/` : ''}${m.binding.name} (${m.role.kind}/${m.role.name}): ${m.message}\n`;
  }
  if (r.disagreements.length) {
    out += `\n${paint(colour, 'red', 'The API server disagrees')} for: ${r.disagreements.map((d) => d.subject.name).join(', ')}\n`;
  }
  if (r.incomplete)
    out += incompleteLine(
      r.missing,
      colour,
      'subjects granted through what could not be read or confirmed may be missing or unconfirmed',
    );
  out += `\nNote: ${r.notes[1]}.\n`;
  return out;
}

function matrixCell(
  c: { allowed: boolean; namesOnly?: string[]; verified?: Verified } | undefined,
  colour: boolean,
): string {
  if (!c) return ' ';
  if (typeof c.verified === 'object') return paint(colour, 'yellow', 'error');
  const mark = c.allowed ? paint(colour, 'green', 'yes') : c.namesOnly ? paint(colour, 'yellow', 'names') : '-';
  return c.verified !== undefined && c.verified !== c.allowed ? `${mark}!` : mark;
}

export function renderMatrix(m: AccessMatrix, colour: boolean): string {
  let out = `Access of ${m.subject.username} (groups ${m.subject.groups.join(', ') || 'none'}) in namespace ${m.namespace}; cluster-scoped resources cluster-wide.\n`;
  out += `Computed from RBAC rules${m.confirmedBy === 'none' ? ' (you may not create SubjectAccessReviews, so it is not confirmed)' : `, confirmed by ${m.confirmedBy}`}.\n\n`;
  const shown = m.rows.filter((r) =>
    Object.values(r.cells).some(
      (c) => c?.allowed || c?.namesOnly || c?.verified === true || typeof c?.verified === 'object',
    ),
  );
  const rows = shown.map((r) => [
    `${r.resource}${r.group ? `.${r.group}` : ''}`,
    r.namespaced ? 'ns' : 'cluster',
    ...MATRIX_VERBS.map((v) => matrixCell(r.cells[v], colour)),
  ]);
  out += rows.length
    ? renderTable(['RESOURCE', 'SCOPE', ...MATRIX_VERBS.map((v) => v.toUpperCase())], rows)
    : m.incomplete
      ? 'Nothing found allowed in what could be read.\n'
      : 'Nothing is allowed.\n';
  const hidden = m.rows.length - rows.length;
  if (hidden) out += `(${hidden} resource types with nothing allowed are not shown; -o json has them all)\n`;
  if (m.risky.length) {
    out += '\nRisky permissions:\n';
    for (const r of m.risky)
      out += `  ${paint(colour, 'red', r.permission)} (${r.scope}): ${r.consequence}\n      via ${r.path}\n`;
  }
  if (m.disagreements.length)
    out += `\n${paint(colour, 'red', 'Disagreements')} (marked !): ${m.disagreements.map((d) => `${d.verb} ${d.resource}: RBAC ${d.rbac ? 'yes' : 'no'}, API server ${d.apiServer ? 'yes' : 'no'}`).join('; ')}\n`;
  if (m.incomplete) out += incompleteLine(m.missing, colour, 'the matrix may be missing what was granted through it');
  for (const n of m.notes) out += `Note: ${n}.\n`;
  return out;
}

export function renderWhy(r: WhyResult): string {
  const req = r.request;
  const what = `${req.verb} ${req.resource}${req.subresource ? `/${req.subresource}` : ''}${req.apiGroup ? `.${req.apiGroup}` : ''}${req.name ? ` ${req.name}` : ''}${req.namespace ? ` in ${req.namespace}` : ''}`;
  let out = r.allowed ? `${r.subject.username} may ${what}:\n` : `no rule grants ${r.subject.username} ${what}.\n`;
  for (const g of r.grants) out += `  ${g.path}\n`;
  if (r.nearMisses.length) out += `Near misses:\n${r.nearMisses.map((n) => `  ${n}\n`).join('')}`;
  if (r.superuser)
    out += 'Note: the subject is in system:masters, which the API server allows everything without RBAC.\n';
  if (r.incomplete) out += `INCOMPLETE: you may not ${r.missing.join('; ')}\n`;
  return out;
}
