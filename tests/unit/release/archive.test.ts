import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { crc32, inflateRawSync } from 'node:zlib';

import { writeZip } from '../../../scripts/release/archive.js';

interface Entry {
  name: string;
  data: Buffer;
  mode: number;
  crc: number;
}

/** Reads a zip the way unzip does: end record, central directory, then each local entry. */
function readZip(zip: Buffer): Entry[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'an end-of-central-directory record');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  assert.equal(at + zip.readUInt32LE(end + 12), end, 'the central directory ends where the end record starts');
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50);
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const local = zip.readUInt32LE(at + 42);
    assert.equal(zip.readUInt32LE(local), 0x04034b50);
    assert.equal(zip.toString('utf8', local + 30, local + 30 + zip.readUInt16LE(local + 26)), name);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = inflateRawSync(zip.subarray(start, start + zip.readUInt32LE(at + 20)));
    assert.equal(data.length, zip.readUInt32LE(at + 24));
    entries.push({ name, data, mode: (zip.readUInt32LE(at + 38) >>> 16) & 0o777, crc: zip.readUInt32LE(at + 16) });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

test('writeZip writes each file under its base name, deflated, with its CRC and mode', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-zip-'));
  const exe = path.join(dir, 'kubectl-study.exe');
  const license = path.join(dir, 'LICENSE');
  writeFileSync(exe, Buffer.concat([randomBytes(50_000), Buffer.alloc(50_000)]));
  chmodSync(exe, 0o755);
  writeFileSync(license, 'Apache License\n'.repeat(100));
  chmodSync(license, 0o644);
  const out = path.join(dir, 'out.zip');
  writeZip(out, [exe, license]);
  const entries = readZip(readFileSync(out));
  assert.deepEqual(
    entries.map((e) => [e.name, e.mode]),
    [
      ['kubectl-study.exe', 0o755],
      ['LICENSE', 0o644],
    ],
  );
  for (const [e, file] of [[entries[0]!, exe], [entries[1]!, license]] as const) {
    assert.ok(e.data.equals(readFileSync(file)), `${e.name} round-trips`);
    assert.equal(e.crc, crc32(e.data));
  }
  assert.ok(readFileSync(out).length < 60_000, 'deflated');
  writeZip(path.join(dir, 'again.zip'), [exe, license]);
  assert.ok(readFileSync(out).equals(readFileSync(path.join(dir, 'again.zip'))), 'the same files give the same zip');
});
