/** Human output of study-ctx; the JSON/YAML output is the result objects themselves. */
import { formatDuration } from '../base/duration.js';
import { NONE, renderTable } from '../base/table.js';
import { paint } from '../base/terminal.js';
import { plural } from '../base/text.js';
import type { CheckList } from './check.js';
import type { ContextDetail } from './detail.js';
import type { CertInfo, ContextList, Problem } from './inventory.js';
import type { SwitchResult } from './switch.js';

export function formatCert(cert: CertInfo | undefined): string {
  if (!cert) return '';
  switch (cert.status) {
    case 'unreadable':
      return 'unreadable';
    case 'expired':
      return `expired ${-(cert.daysLeft ?? 0)}d ago`;
    case 'expiring':
      return `${cert.daysLeft}d (soon)`;
    default:
      return `${cert.daysLeft}d`;
  }
}

export function formatAuth(auth: { method: string; detail?: string }): string {
  if (auth.method === 'none') return '';
  return auth.detail ? `${auth.method} (${auth.detail})` : auth.method;
}

export function renderContextList(list: ContextList, wide: boolean, colour: boolean): string {
  const headers = ['CURRENT', 'NAME', 'CLUSTER', 'SERVER', 'USER', 'NAMESPACE', 'AUTH', 'CERT EXPIRES'];
  if (wide) headers.push('PROBLEMS', 'FILE');
  const rows = list.contexts.map((c) => {
    let cert = formatCert(c.cert);
    if (c.cert?.status === 'expired' || c.cert?.status === 'unreadable') cert = paint(colour, 'red', cert);
    else if (c.cert?.status === 'expiring') cert = paint(colour, 'yellow', cert);
    const row: Array<string | number> = [
      c.current ? '*' : ' ',
      c.name,
      c.cluster,
      c.server,
      c.user,
      c.namespace,
      formatAuth(c.auth),
      cert,
    ];
    if (wide) row.push(c.problems, c.files.context);
    return row;
  });
  let out = list.contexts.length ? renderTable(headers, rows) : 'No contexts found.\n';
  if (list.problems.length) out += `\n${renderProblems(list.problems, colour)}`;
  return out;
}

export function renderProblems(problems: Problem[], colour: boolean): string {
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  const title = `PROBLEMS: ${errors} ${plural(errors, 'error')}, ${warnings} ${plural(warnings, 'warning')}\n`;
  const lines = problems.map((p) => {
    const sev = p.severity === 'error' ? paint(colour, 'red', 'error') : paint(colour, 'yellow', 'warning');
    return `${sev}  ${p.code}: ${p.message}\n         ${paint(colour, 'dim', `why: ${p.why}`)}`;
  });
  return `${title}${lines.join('\n')}\n`;
}

export function renderCheckList(list: CheckList, colour: boolean): string {
  const headers = ['NAME', 'SERVER', 'RESULT', 'IDENTITY', 'VERSION', 'RTT', 'DETAIL'];
  const rows = list.checks.map((c) => [
    c.context,
    c.server,
    c.ok ? paint(colour, 'green', 'ok') : paint(colour, 'red', c.outcome),
    c.identity ? `${c.identity.username}${c.identity.groups.length ? ` [${c.identity.groups.join(',')}]` : ''}` : '',
    c.serverVersion ?? '',
    c.rttMs === undefined ? '' : `${c.rttMs}ms`,
    c.ok ? '' : `${c.failedStage}: ${c.message ?? ''}`,
  ]);
  const failed = list.checks.filter((c) => !c.ok).length;
  return `${renderTable(headers, rows)}\n${list.checks.length} checked in ${formatDuration(list.elapsedMs)} (timeout ${formatDuration(list.timeoutMs)} each, in parallel), ${failed} failed\n`;
}

function line(key: string, value: string | number | boolean | undefined): string {
  return `  ${`${key}:`.padEnd(24)}${value === undefined || value === '' ? NONE : String(value)}\n`;
}

function certLine(cert: CertInfo | undefined): string | undefined {
  if (!cert) return undefined;
  if (cert.status === 'unreadable') return `unreadable: ${cert.error ?? ''}`;
  const where = cert.source === 'file' ? cert.file : 'inline data';
  return `${cert.subject ? `${cert.subject}, ` : ''}expires ${cert.notAfter?.slice(0, 10)} (${formatCert(cert)}), from ${where}`;
}

export function renderDetail(d: ContextDetail, colour: boolean): string {
  let out = `Context:   ${d.name}${d.current ? ' (current)' : ''}\n`;
  out += line('file', d.file);
  out += line('namespace', d.namespace || 'default');
  out += `Cluster:   ${d.cluster.name || NONE}${d.cluster.defined ? '' : ' (not defined)'}\n`;
  if (d.cluster.defined) {
    out += line('file', d.cluster.file);
    out += line('server', d.cluster.server);
    out += line('certificate authority', certLine(d.cluster.certificateAuthority) ?? 'system roots');
    if (d.cluster.insecureSkipTLSVerify) out += line('insecure-skip-tls-verify', 'true');
    if (d.cluster.tlsServerName) out += line('tls-server-name', d.cluster.tlsServerName);
    if (d.cluster.proxyUrl) out += line('proxy-url', d.cluster.proxyUrl);
  }
  const u = d.user;
  out += `User:      ${u.name || NONE}${u.name && !u.defined ? ' (not defined)' : ''}\n`;
  if (u.defined) {
    out += line('file', u.file);
    out += line(
      'auth',
      `${formatAuth(u.auth)}${u.auth.methods.length > 1 ? ` (also set: ${u.auth.methods.slice(1).join(', ')})` : ''}`,
    );
    if (u.clientCertificate) out += line('client certificate', certLine(u.clientCertificate));
    if (u.clientKey) out += line('client key', `${u.clientKey.value} (${u.clientKey.source})`);
    if (u.token) out += line('token', `${u.token.value}${u.token.expires ? ` (expires ${u.token.expires})` : ''}`);
    if (u.tokenFile) out += line('token file', u.tokenFile);
    if (u.username) out += line('username', u.username);
    if (u.password) out += line('password', u.password.value);
    if (u.exec) {
      out += line('exec command', [u.exec.command, ...u.exec.args].join(' '));
      out += line('exec apiVersion', u.exec.apiVersion);
      if (u.exec.env.length) out += line('exec env', u.exec.env.map((e) => `${e.name}=${e.value}`).join(' '));
    }
    if (u.authProvider) {
      out += line(
        'auth-provider',
        `${u.authProvider.name} (${Object.keys(u.authProvider.config).length} settings, values redacted)`,
      );
    }
    if (u.impersonate)
      out += line(
        'impersonates',
        `${u.impersonate.user}${u.impersonate.groups.length ? ` groups ${u.impersonate.groups.join(',')}` : ''}`,
      );
  }
  if (d.problems.length) out += `\n${renderProblems(d.problems, colour)}`;
  return out;
}

export function renderSwitch(r: SwitchResult): string {
  if (r.namespace !== undefined) {
    return r.changed
      ? `Context "${r.context}" now defaults to namespace "${r.namespace}" (was "${r.previous || 'default'}"); wrote ${r.file}\n`
      : `Context "${r.context}" already defaults to namespace "${r.namespace}"; nothing written\n`;
  }
  return r.changed
    ? `Switched to context "${r.context}" (was "${r.previous || NONE}"); wrote ${r.file}\n`
    : `Context "${r.context}" is already current; nothing written\n`;
}
