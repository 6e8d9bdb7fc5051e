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
  const timing = `in ${formatDuration(list.elapsedMs)} (timeout ${formatDuration(list.timeoutMs)} each, in parallel)`;
  return `${renderTable(headers, rows)}\n${list.checks.length} checked ${timing}, ${failed} failed\n`;
}

function line(key: string, value: string | number | boolean | undefined): string {
  return `  ${`${key}:`.padEnd(24)}${value === undefined || value === '' ? NONE : String(value)}\n`;
}

function certLine(cert: CertInfo | undefined): string | undefined {
  if (!cert) return undefined;
  if (cert.status === 'unreadable') return `unreadable: ${cert.error ?? ''}`;
  const where = cert.source === 'file' ? cert.file : 'inline data';
  const subject = cert.subject ? `${cert.subject}, ` : '';
  return `${subject}expires ${cert.notAfter?.slice(0, 10)} (${formatCert(cert)}), from ${where}`;
}

export function renderDetail(detail: ContextDetail, colour: boolean): string {
  let out = `Context:   ${detail.name}${detail.current ? ' (current)' : ''}\n`;
  out += line('file', detail.file);
  // As the list says it; requests without -n then go to namespace default.
  out += line('namespace', detail.namespace || '<none> (requests go to default)');
  out += `Cluster:   ${detail.cluster.name || NONE}${detail.cluster.defined ? '' : ' (not defined)'}\n`;
  if (detail.cluster.defined) {
    out += line('file', detail.cluster.file);
    out += line('server', detail.cluster.server);
    out += line('certificate authority', certLine(detail.cluster.certificateAuthority) ?? 'system roots');
    if (detail.cluster.insecureSkipTLSVerify) out += line('insecure-skip-tls-verify', 'true');
    if (detail.cluster.tlsServerName) out += line('tls-server-name', detail.cluster.tlsServerName);
    if (detail.cluster.proxyUrl) out += line('proxy-url', detail.cluster.proxyUrl);
  }
  const user = detail.user;
  out += `User:      ${user.name || NONE}${user.name && !user.defined ? ' (not defined)' : ''}\n`;
  if (user.defined) {
    out += line('file', user.file);
    const others = user.auth.methods.slice(1);
    out += line('auth', `${formatAuth(user.auth)}${others.length ? ` (also set: ${others.join(', ')})` : ''}`);
    if (user.clientCertificate) out += line('client certificate', certLine(user.clientCertificate));
    if (user.clientKey) out += line('client key', `${user.clientKey.value} (${user.clientKey.source})`);
    if (user.token)
      out += line('token', `${user.token.value}${user.token.expires ? ` (expires ${user.token.expires})` : ''}`);
    if (user.tokenFile) out += line('token file', user.tokenFile);
    if (user.username) out += line('username', user.username);
    if (user.password) out += line('password', user.password.value);
    if (user.exec) {
      out += line('exec command', [user.exec.command, ...user.exec.args].join(' '));
      out += line('exec apiVersion', user.exec.apiVersion);
      if (user.exec.env.length) out += line('exec env', user.exec.env.map((e) => `${e.name}=${e.value}`).join(' '));
    }
    if (user.authProvider) {
      out += line(
        'auth-provider',
        `${user.authProvider.name} (${Object.keys(user.authProvider.config).length} settings, values redacted)`,
      );
    }
    if (user.impersonate)
      out += line(
        'impersonates',
        user.impersonate.user + (user.impersonate.groups.length ? ` groups ${user.impersonate.groups.join(',')}` : ''),
      );
  }
  if (detail.problems.length) out += `\n${renderProblems(detail.problems, colour)}`;
  return out;
}

export function renderSwitch(change: SwitchResult): string {
  if (change.namespace !== undefined) {
    return change.changed
      ? `Context "${change.context}" now defaults to namespace "${change.namespace}" ` +
          `(was "${change.previous || 'default'}"); wrote ${change.file}\n`
      : `Context "${change.context}" already defaults to namespace "${change.namespace}"; nothing written\n`;
  }
  return change.changed
    ? `Switched to context "${change.context}" (was "${change.previous || NONE}"); wrote ${change.file}\n`
    : `Context "${change.context}" is already current; nothing written\n`;
}
