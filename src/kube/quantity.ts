/** Kubernetes resource quantities ("100m", "1.5", "64Mi", "1G", "2e3"). Pure. */
const BINARY_EXP: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/**
 * A quantity exactly, in nano-units (so "100m" is 100000000n and "1Ki" is
 * 1024000000000n), or undefined when malformed. The API server keeps no
 * precision below 1n, and the scheduler sums quantities exactly before it
 * rounds, so the placement simulation does too.
 */
export function parseQuantityNano(text: string | number | undefined | null): bigint | undefined {
  if (text === undefined || text === null) return undefined;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(
    String(text).trim(),
  );
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const digits = BigInt(`${m[2] || '0'}${m[3] ?? ''}`);
  const scale = (m[3] ?? '').length;
  const sign = m[1] === '-' ? -1n : 1n;
  let exp10 = 9 - scale;
  let factor = 1n;
  if (m[4]) exp10 += Number(m[4].slice(1));
  else if (m[5] && BINARY_EXP[m[5]] !== undefined) factor = 1024n ** BigInt(BINARY_EXP[m[5]]!);
  else exp10 += DECIMAL_EXP[m[5] ?? ''] ?? 0;
  const n = digits * factor;
  if (exp10 >= 0) return sign * n * 10n ** BigInt(exp10);
  // Below a nano-unit: round up, as the API server does.
  const d = 10n ** BigInt(-exp10);
  return sign * ((n + d - 1n) / d);
}

/** Nano-units rounded up to whole milli-units (cpu), as resource.Quantity.MilliValue does. */
export function nanoToMilli(n: bigint): number {
  return Number(n >= 0n ? (n + 999_999n) / 1_000_000n : n / 1_000_000n);
}

/** Nano-units rounded up to whole units (bytes, devices), as resource.Quantity.Value does. */
export function nanoToValue(n: bigint): number {
  return Number(n >= 0n ? (n + 999_999_999n) / 1_000_000_000n : n / 1_000_000_000n);
}
