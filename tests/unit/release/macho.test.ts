import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { checkExecutable, SEA_FUSE } from '../../../scripts/release/executables.js';
import { inspectMachO } from '../../../scripts/release/macho.js';
import { PLATFORMS } from '../../../scripts/release/platforms.js';

const PAGE = 4096;
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

function blobHeader(magic: number, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(length, 4);
  return b;
}

/**
 * A small arm64 Mach-O, signed as rcodesign signs ad hoc: __TEXT, NODE_SEA with the
 * blob, __LINKEDIT holding a SuperBlob of a CodeDirectory (sha256, 4 KiB pages), an
 * empty requirements set and an empty CMS blob.
 */
function signedMachO(blob: Buffer, cpuType = 0x0100000c): Buffer {
  const codeLimit = 3 * PAGE + 100;
  const code = randomBytes(codeLimit);
  const seaOffset = 2 * PAGE;
  blob.copy(code, seaOffset);
  Buffer.from(`${SEA_FUSE}:1`).copy(code, PAGE + 10);

  const identifier = Buffer.from('kubectl-study\0');
  const nSpecial = 2;
  const nCode = Math.ceil(codeLimit / PAGE);
  const cdFixed = 88;
  const hashOffset = cdFixed + identifier.length + nSpecial * 32;
  const cdLength = hashOffset + nCode * 32;
  const requirements = Buffer.concat([blobHeader(0xfade0c01, 12), Buffer.alloc(4)]);
  const cms = blobHeader(0xfade0b01, 8);
  const indexEnd = 12 + 3 * 8;
  const sigLength = indexEnd + cdLength + requirements.length + cms.length;

  // Header and load commands: __TEXT, NODE_SEA (one section), __LINKEDIT, LC_CODE_SIGNATURE.
  let at = 32;
  const segment = (name: string, fileoff: number, filesize: number, sections: { name: string; offset: number; size: number }[]): void => {
    code.fill(0, at, at + 72 + sections.length * 80);
    code.writeUInt32LE(0x19, at);
    code.writeUInt32LE(72 + sections.length * 80, at + 4);
    code.write(name, at + 8, 'latin1');
    code.writeBigUInt64LE(BigInt(fileoff), at + 40);
    code.writeBigUInt64LE(BigInt(filesize), at + 48);
    code.writeUInt32LE(sections.length, at + 64);
    sections.forEach((s, i) => {
      const sec = at + 72 + i * 80;
      code.write(s.name, sec, 'latin1');
      code.write(name, sec + 16, 'latin1');
      code.writeBigUInt64LE(BigInt(s.size), sec + 40);
      code.writeUInt32LE(s.offset, sec + 48);
    });
    at += 72 + sections.length * 80;
  };
  segment('__TEXT', 0, 2 * PAGE, []);
  segment('NODE_SEA', seaOffset, PAGE, [{ name: '__NODE_SEA_BLOB', offset: seaOffset, size: blob.length }]);
  segment('__LINKEDIT', 3 * PAGE, codeLimit - 3 * PAGE + sigLength, []);
  code.writeUInt32LE(0x1d, at);
  code.writeUInt32LE(16, at + 4);
  code.writeUInt32LE(codeLimit, at + 8);
  code.writeUInt32LE(sigLength, at + 12);
  at += 16;
  code.writeUInt32LE(0xfeedfacf, 0);
  code.writeInt32LE(cpuType, 4);
  code.writeInt32LE(0, 8);
  code.writeUInt32LE(2, 12);
  code.writeUInt32LE(4, 16);
  code.writeUInt32LE(at - 32, 20);
  code.writeUInt32LE(0, 24);
  code.writeUInt32LE(0, 28);

  const cd = Buffer.alloc(cdLength);
  cd.writeUInt32BE(0xfade0c02, 0);
  cd.writeUInt32BE(cdLength, 4);
  cd.writeUInt32BE(0x20400, 8);
  cd.writeUInt32BE(0x2, 12); // CS_ADHOC
  cd.writeUInt32BE(hashOffset, 16);
  cd.writeUInt32BE(cdFixed, 20);
  cd.writeUInt32BE(nSpecial, 24);
  cd.writeUInt32BE(nCode, 28);
  cd.writeUInt32BE(codeLimit, 32);
  cd.writeUInt8(32, 36);
  cd.writeUInt8(2, 37);
  cd.writeUInt8(12, 39);
  identifier.copy(cd, cdFixed);
  sha256(requirements).copy(cd, hashOffset - 2 * 32); // special slot 2: requirements
  for (let i = 0; i < nCode; i++) sha256(code.subarray(i * PAGE, Math.min((i + 1) * PAGE, codeLimit))).copy(cd, hashOffset + i * 32);

  const superBlob = Buffer.alloc(indexEnd);
  superBlob.writeUInt32BE(0xfade0cc0, 0);
  superBlob.writeUInt32BE(sigLength, 4);
  superBlob.writeUInt32BE(3, 8);
  const index: Array<[number, number]> = [
    [0, indexEnd],
    [2, indexEnd + cdLength],
    [0x10000, indexEnd + cdLength + requirements.length],
  ];
  index.forEach(([type, offset], i) => {
    superBlob.writeUInt32BE(type, 12 + i * 8);
    superBlob.writeUInt32BE(offset, 16 + i * 8);
  });
  return Buffer.concat([code, superBlob, cd, requirements, cms]);
}

const blob = randomBytes(1000);
const darwinArm64 = PLATFORMS.find((p) => p.id === 'darwin-arm64')!;
const darwinAmd64 = PLATFORMS.find((p) => p.id === 'darwin-amd64')!;

test('inspectMachO verifies every page hash and special slot of an ad-hoc signature', () => {
  const r = inspectMachO(signedMachO(blob));
  assert.deepEqual(r.problems, []);
  assert.equal(r.cpu, 'arm64');
  const [cd] = r.signature!.codeDirectories;
  assert.equal(cd!.identifier, 'kubectl-study');
  assert.equal(cd!.adhoc, true);
  assert.equal(cd!.pages, 4);
  assert.deepEqual(cd!.badPages, []);
  assert.deepEqual(cd!.specialSlots, [
    { slot: 1, ok: true },
    { slot: 2, ok: true },
  ]);
  assert.deepEqual(checkExecutable(darwinArm64, signedMachO(blob), blob), { format: 'Mach-O arm64', signature: 'ad-hoc sha256, 4/4 pages', problems: [] });
});

test('inspectMachO names the pages changed after signing', () => {
  const file = signedMachO(blob);
  file[2 * PAGE + 5]! ^= 0xff;
  file[3 * PAGE + 50]! ^= 0xff;
  const r = inspectMachO(file);
  assert.deepEqual(r.signature!.codeDirectories[0]!.badPages, [2, 3]);
  assert.match(r.problems.join('\n'), /2 of 4 page hashes do not match \(pages 2, 3\)/);
});

test('inspectMachO finds a requirements blob changed after signing', () => {
  const file = signedMachO(blob);
  file[file.length - 8 - 1]! ^= 0x01; // last byte of the requirements blob
  assert.match(inspectMachO(file).problems.join('\n'), /special slot 2 does not match its blob/);
});

test('inspectMachO reports an unsigned binary and a file that is not Mach-O', () => {
  const file = signedMachO(blob);
  file.writeUInt32LE(3, 16); // drop LC_CODE_SIGNATURE, the last command
  assert.deepEqual(inspectMachO(file).problems, ['no LC_CODE_SIGNATURE: the binary is not signed']);
  assert.deepEqual(inspectMachO(Buffer.from('#!/bin/sh\necho hi\n')).problems, ['not a 64-bit little-endian Mach-O file']);
});

test('checkExecutable wants the platform\'s CPU, the blob where Node looks, and the fuse flipped', () => {
  assert.deepEqual(checkExecutable(darwinAmd64, signedMachO(blob), blob).problems, ['built for arm64, not x86_64']);
  assert.deepEqual(checkExecutable(darwinArm64, signedMachO(blob), randomBytes(1000)).problems, ['the embedded SEA blob differs from the one built']);
  const unflipped = signedMachO(blob);
  const at = unflipped.indexOf(`${SEA_FUSE}:1`);
  unflipped.write(`${SEA_FUSE}:0`, at, 'latin1');
  // (The fuse sits in a signed page, so that page's hash fails too.)
  const problems = checkExecutable(darwinArm64, unflipped, blob).problems;
  assert.ok(problems.includes('the SEA fuse is not flipped'), problems.join('\n'));
});
