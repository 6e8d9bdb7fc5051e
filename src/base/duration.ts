/**
 * Durations in kubectl's syntax, the one way kubectl-study parses them.
 *
 * kubectl takes Go durations ("1h30m", "2.5s", "500ms") and, for
 * --request-timeout, a bare integer as seconds ("30"). "0" means no limit.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Returns milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string, options: { bareSeconds?: boolean } = {}): number | undefined {
  let rest = text.trim();
  if (rest === '') return undefined;
  if (options.bareSeconds !== false && /^\d+$/.test(rest)) return Number(rest) * 1000;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  let total = 0;
  let parts = 0;
  while (rest.length > 0) {
    const m = PART.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? NaN);
    rest = rest.slice(m[0].length);
    parts++;
  }
  if (parts === 0 || !Number.isFinite(total)) return undefined;
  return sign * total;
}

/** Human form for messages: 90000 -> "1m30s", 1500 -> "1.5s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = ms / 1000;
  if (totalSeconds < 60) return `${Number(totalSeconds.toFixed(1))}s`;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = Math.floor(totalSeconds % 60);
  return `${h ? `${h}h` : ''}${m || h ? `${m}m` : ''}${s}s`;
}

/** Age as kubectl prints it: 45s, 12m, 5h, 3d, 2y. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 730) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}
