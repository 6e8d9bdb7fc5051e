import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { checkExecutable, SEA_FUSE } from '../../../scripts/release/executables.js';
import { inspectPe } from '../../../scripts/release/pe.js';
import { PLATFORMS } from '../../../scripts/release/platforms.js';

const ALIGN = 0x200;

/**
 * A small PE32+ file: .text (with the fuse) and .rsrc holding RT_RCDATA/NODE_SEA_BLOB/1033,
 * as postject leaves node.exe; `signature` appends an Authenticode table.
 */
function pe(blob: Buffer, options: { machine?: number; signature?: boolean } = {}): Buffer {
  const headers = Buffer.alloc(0x400);
  headers.write('MZ', 0, 'latin1');
  headers.writeUInt32LE(0x80, 0x3c);
  headers.writeUInt32LE(0x00004550, 0x80);
  headers.writeUInt16LE(options.machine ?? 0x8664, 0x84);
  headers.writeUInt16LE(2, 0x86);
  headers.writeUInt16LE(240, 0x94);
  const opt = 0x98;
  headers.writeUInt16LE(0x20b, opt);
  headers.writeUInt32LE(ALIGN, opt + 36);
  headers.writeUInt32LE(0x400, opt + 60);
  headers.writeUInt32LE(16, opt + 108);

  const text = Buffer.alloc(ALIGN);
  Buffer.from(`${SEA_FUSE}:1`).copy(text, 16);

  // .rsrc at RVA 0x2000: root -> type 10 -> name "NODE_SEA_BLOB" -> language 1033 -> data.
  const rsrcRva = 0x2000;
  const dir = (named: number, ids: number): Buffer => {
    const d = Buffer.alloc(16);
    d.writeUInt16LE(named, 12);
    d.writeUInt16LE(ids, 14);
    return d;
  };
  const entry = (name: number, target: number, isDir: boolean): Buffer => {
    const e = Buffer.alloc(8);
    e.writeUInt32LE(name >>> 0, 0);
    e.writeUInt32LE((isDir ? target | 0x80000000 : target) >>> 0, 4);
    return e;
  };
  const name = Buffer.alloc(2 + 26);
  name.writeUInt16LE(13, 0);
  name.write('NODE_SEA_BLOB', 2, 'utf16le');
  // Offsets within the section: 0 root, 24 type dir, 48 name dir, 72 leaf, 88 name, 116 data.
  const dataAt = 120;
  const leaf = Buffer.alloc(16);
  leaf.writeUInt32LE(rsrcRva + dataAt, 0);
  leaf.writeUInt32LE(blob.length, 4);
  const rsrcBody = Buffer.concat([
    dir(0, 1), entry(10, 24, true),
    dir(1, 0), entry(0x80000000 | 88, 48, true),
    dir(0, 1), entry(1033, 72, false),
    leaf, name, Buffer.alloc(dataAt - 116), blob,
  ]);
  const rsrc = Buffer.concat([rsrcBody, Buffer.alloc(ALIGN - (rsrcBody.length % ALIGN))]);

  const sections: Array<[string, number, Buffer, number]> = [
    ['.text', 0x1000, text, 0x400],
    ['.rsrc', rsrcRva, rsrc, 0x400 + text.length],
  ];
  sections.forEach(([n, rva, data, offset], i) => {
    const s = opt + 240 + i * 40;
    headers.write(n, s, 'latin1');
    headers.writeUInt32LE(data.length, s + 8);
    headers.writeUInt32LE(rva, s + 12);
    headers.writeUInt32LE(data.length, s + 16);
    headers.writeUInt32LE(offset, s + 20);
  });
  headers.writeUInt32LE(rsrcRva + rsrc.length, opt + 56); // SizeOfImage
  headers.writeUInt32LE(rsrcRva, opt + 112 + 2 * 8);
  headers.writeUInt32LE(rsrc.length, opt + 116 + 2 * 8);
  const body = Buffer.concat([headers, text, rsrc]);
  if (!options.signature) return body;
  headers.writeUInt32LE(body.length, opt + 112 + 4 * 8);
  headers.writeUInt32LE(64, opt + 116 + 4 * 8);
  return Buffer.concat([headers, text, rsrc, Buffer.alloc(64, 1)]);
}

const blob = randomBytes(700);
const windows = PLATFORMS.find((p) => p.id === 'windows-amd64')!;

test('inspectPe reads the machine, the sections and the NODE_SEA_BLOB resource', () => {
  const file = pe(blob);
  const r = inspectPe(file);
  assert.deepEqual(r.problems, []);
  assert.equal(r.cpu, 'x86_64');
  assert.deepEqual(r.sections.map((s) => s.name), ['.text', '.rsrc']);
  const res = r.resources.get('NODE_SEA_BLOB')!;
  assert.ok(file.subarray(res.offset, res.offset + res.size).equals(blob));
  assert.deepEqual(checkExecutable(windows, file, blob), { format: 'PE32+ x86_64', signature: 'no Authenticode', problems: [] });
});

test('inspectPe reports a leftover Authenticode signature, a wrong machine and a file cut short', () => {
  assert.match(inspectPe(pe(blob, { signature: true })).problems.join('\n'), /an Authenticode signature is present \(64 bytes/);
  assert.deepEqual(checkExecutable(windows, pe(blob, { machine: 0xaa64 }), blob).problems, ['built for arm64, not x86_64']);
  const cut = pe(blob).subarray(0, 0x500);
  assert.match(inspectPe(cut).problems.join('\n'), /section \.rsrc runs past the end of the file/);
  assert.deepEqual(inspectPe(Buffer.from('not a program at all, but long enough to have a header......')).problems, ['no MZ header: not a PE file']);
});
