// A node:test reporter that writes only the totals, as JSON, for scripts/test.ts
// to print the closing "N passed, N failed" line after the cluster is stopped,
// the names of the failed tests, for npm run test:versions's summary, and the
// "agreement KEY: AGREE of TOTAL" diagnostics of the tests that compare with a
// peer (the API server's authorizer, kubectl, kube-scheduler), for
// npm run bench:agreement's table.
const AGREEMENT = /^agreement ([a-z0-9-]+): (\d+) of (\d+)$/;

export default async function* countReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  const agreements = [];
  for await (const event of source) {
    if (event.type === 'test:diagnostic') {
      const m = AGREEMENT.exec(event.data.message ?? '');
      if (m) agreements.push({ key: m[1], agree: Number(m[2]), total: Number(m[3]), file: event.data.file });
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data;
    // Suites (describe blocks and test files) report too; count only tests.
    if (data.details?.type === 'suite') continue;
    if (data.skip || data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else {
      failed++;
      failures.push({ name: data.name, file: data.file });
    }
  }
  yield `${JSON.stringify({ passed, failed, skipped, failures, agreements })}\n`;
}
