/**
 * The server's release: what /version says, the release whose rules answer
 * it (clamped to 1.32..1.37), the one line said about a release that is not
 * the server's own, the table lookup every job's rules go through, and the
 * cache beside kubectl's discovery cache.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { DISCOVERY_TTL_MS } from '../../../src/kube/discoverycache.js';
import { HttpStatusError } from '../../../src/kube/transport.js';
import {
  describeRelease,
  parseVersion,
  releaseLines,
  releaseNotice,
  rulesAt,
  serverRelease,
  type ReleaseClient,
  type VersionInfo,
} from '../../../src/kube/release.js';

test('/version as providers report it: suffixes, a "+" minor, emulation fields', () => {
  const cases: Array<[string, VersionInfo, ReturnType<typeof parseVersion>]> = [
    ['plain', { major: '1', minor: '32', gitVersion: 'v1.32.13' }, { major: 1, minor: 32, patch: 13 }],
    ['k3s', { major: '1', minor: '33', gitVersion: 'v1.33.5+k3s1' }, { major: 1, minor: 33, patch: 5 }],
    ['eks', { major: '1', minor: '34+', gitVersion: 'v1.34.2-eks-b707fbb' }, { major: 1, minor: 34, patch: 2 }],
    ['gke', { major: '1', minor: '35', gitVersion: 'v1.35.1-gke.1396000' }, { major: 1, minor: 35, patch: 1 }],
    ['pre-release', { major: '1', minor: '37', gitVersion: 'v1.37.0-alpha.2' }, { major: 1, minor: 37, patch: 0 }],
    ['no major/minor fields', { gitVersion: 'v1.36.3' }, { major: 1, minor: 36, patch: 3 }],
    ['fields only', { major: '1', minor: '33' }, { major: 1, minor: 33, patch: 0 }],
    [
      'emulating its own release',
      { major: '1', minor: '37', emulationMajor: '1', emulationMinor: '37', gitVersion: 'v1.37.2' },
      { major: 1, minor: 37, patch: 2 },
    ],
    // An emulated release's gates and APIs, and every fix of its patches (the binary is newer).
    [
      'emulating an older release',
      { major: '1', minor: '35', emulationMajor: '1', emulationMinor: '33', gitVersion: 'v1.35.2' },
      { major: 1, minor: 33, patch: Number.POSITIVE_INFINITY },
    ],
    ['nothing usable', { gitVersion: 'devel' }, undefined],
  ];
  for (const [what, info, expected] of cases) assert.deepEqual(parseVersion(info), expected, what);
});

test('the rules a server is answered by: its own release, clamped to 1.32..1.37', () => {
  const cases: Array<[string, string, string, number, number]> = [
    ['v1.31.9', 'v1.31.9', '1.32', 32, 0],
    ['v1.32.13', 'v1.32.13', '1.32', 32, 13],
    ['v1.33.5+k3s1', 'v1.33.5+k3s1', '1.33', 33, 5],
    ['v1.33.6', 'v1.33.6', '1.33', 33, 6],
    ['v1.37.2', 'v1.37.2', '1.37', 37, 2],
    ['v1.38.0', 'v1.38.0', '1.37', 37, Number.POSITIVE_INFINITY],
    ['v2.0.1', 'v2.0.1', '1.37', 37, Number.POSITIVE_INFINITY],
  ];
  for (const [gitVersion, serverReleaseText, rules, minor, patch] of cases)
    assert.deepEqual(
      describeRelease({ gitVersion }),
      { serverRelease: serverReleaseText, rules, release: { minor, patch } },
      gitVersion,
    );
  assert.deepEqual(describeRelease(undefined), {
    serverRelease: 'unknown',
    rules: '1.37',
    release: { minor: 37, patch: Number.POSITIVE_INFINITY },
  });
});

test('one warning names 1.32 for an older server; one info line for a newer one; nothing for a modelled one', () => {
  const older = releaseNotice(describeRelease({ gitVersion: 'v1.31.14-eks-1a2b3c4' }));
  assert.equal(older?.level, 'warning');
  assert.match(older!.message, /v1\.31\.14-eks-1a2b3c4, older than 1\.32, the oldest release kubectl-study supports/);
  assert.match(older!.message, /answered by the rules of 1\.32/);
  const newer = releaseNotice(describeRelease({ gitVersion: 'v1.38.0' }));
  assert.equal(newer?.level, 'info');
  assert.match(newer!.message, /v1\.38\.0, newer than 1\.37, the newest release kubectl-study models/);
  const unknown = releaseNotice(describeRelease(undefined));
  assert.equal(unknown?.level, 'warning');
  assert.match(unknown!.message, /could not be read .* answered by the rules of Kubernetes 1\.37/);
  for (const version of ['v1.32.0', 'v1.34.4', 'v1.37.2'])
    assert.equal(releaseNotice(describeRelease({ gitVersion: version })), undefined, version);
  // A 1.38 binary emulating 1.36 is answered by 1.36's own rules: nothing was clamped.
  assert.equal(
    releaseNotice(
      describeRelease({ major: '1', minor: '38', emulationMajor: '1', emulationMinor: '36', gitVersion: 'v1.38.1' }),
    ),
    undefined,
  );
  const fields = describeRelease({ gitVersion: 'v1.38.0' });
  assert.equal(releaseLines(fields, 'info').length, 1);
  assert.deepEqual(releaseLines(fields, 'warning'), []);
  assert.deepEqual(releaseLines(undefined, 'warning'), []);
});

test('a table keyed by release gives the last row not after it, patch thresholds included', () => {
  const table = [
    ['1.32', 'a'],
    ['1.33.6', 'b'],
    ['1.34', 'c'],
    ['1.34.2', 'd'],
  ] as const;
  const at = (minor: number, patch: number): string => rulesAt(table, { minor, patch });
  assert.equal(at(32, 13), 'a');
  assert.equal(at(33, 5), 'a');
  assert.equal(at(33, 6), 'b');
  assert.equal(at(33, Number.POSITIVE_INFINITY), 'b');
  assert.equal(at(34, 1), 'c');
  assert.equal(at(34, 2), 'd');
  assert.equal(at(37, Number.POSITIVE_INFINITY), 'd');
  assert.throws(() => rulesAt([['1.33', 'x']], { minor: 33, patch: 0 }), /starts at 1\.33/);
  assert.throws(
    () =>
      rulesAt(
        [
          ['1.32', 'x'],
          ['1.35', 'y'],
          ['1.34', 'z'],
        ],
        { minor: 33, patch: 0 },
      ),
    /out of order at 1\.34/,
  );
});

/** A client whose /version answers are counted; `answer` is what GET /version returns or throws. */
function fakeClient(dir: string, answer: () => VersionInfo): ReleaseClient & { asked: number } {
  const client = {
    asked: 0,
    discoveryCacheDir: dir,
    async request<T>(method: string, requestPath: string): Promise<T> {
      assert.equal(`${method} ${requestPath}`, 'GET /version');
      client.asked++;
      return answer() as T;
    },
    async call<T>(_what: string, fn: () => Promise<T>): Promise<T> {
      return fn();
    },
  };
  return client as unknown as ReleaseClient & { asked: number };
}

const V1_33_6: VersionInfo = { major: '1', minor: '33', gitVersion: 'v1.33.6' };

test('a command asks /version once; the next command reads version.json beside the discovery cache', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kstudy-release-')), 'discovery', '127.0.0.1_6443');
  const first = fakeClient(dir, () => V1_33_6);
  const [a, b] = await Promise.all([serverRelease(first), serverRelease(first)]);
  assert.equal(first.asked, 1, 'asked once per client, however many parts of the command ask');
  assert.deepEqual(a, b);
  assert.equal(a.serverRelease, 'v1.33.6');
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'version.json'), 'utf8')), V1_33_6);
  const second = fakeClient(dir, () => ({ gitVersion: 'v1.34.0' }));
  assert.equal((await serverRelease(second)).serverRelease, 'v1.33.6', 'the cached answer');
  assert.equal(second.asked, 0);
});

test('a version.json older than the TTL is asked again, and replaced', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kstudy-release-')), 'discovery', 'h');
  await serverRelease(fakeClient(dir, () => V1_33_6));
  const old = new Date(Date.now() - DISCOVERY_TTL_MS - 60_000);
  utimesSync(path.join(dir, 'version.json'), old, old);
  const upgraded = fakeClient(dir, () => ({ major: '1', minor: '34', gitVersion: 'v1.34.4' }));
  assert.equal((await serverRelease(upgraded)).serverRelease, 'v1.34.4');
  assert.equal(upgraded.asked, 1);
  assert.equal((JSON.parse(readFileSync(path.join(dir, 'version.json'), 'utf8')) as VersionInfo).gitVersion, 'v1.34.4');
});

test('a /version the server refuses answers by the newest rules and caches nothing; no answer at all fails', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kstudy-release-')), 'discovery', 'h');
  const refused = fakeClient(dir, () => {
    throw new HttpStatusError(403, '{"kind":"Status","code":403,"reason":"Forbidden"}', {});
  });
  assert.deepEqual(await serverRelease(refused), describeRelease(undefined));
  assert.equal(existsSync(path.join(dir, 'version.json')), false);
  const unauthorized = fakeClient(dir, () => {
    throw new HttpStatusError(401, '{"kind":"Status","code":401}', {});
  });
  await assert.rejects(serverRelease(unauthorized));
  const down = fakeClient(dir, () => {
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  });
  await assert.rejects(serverRelease(down), /ECONNREFUSED/);
});
