/**
 * A Mach-O code signature checker, for the macOS binaries this Linux machine cannot run.
 *
 * `rcodesign verify` rejects ad-hoc signatures (it wants a certificate chain), and an
 * Apple silicon Mac refuses to start code whose signature does not match it. So the
 * release checks the signature the way the kernel does: LC_CODE_SIGNATURE points at a
 * SuperBlob; its CodeDirectories hash every page of the file up to the signature
 * (codeLimit) and, in the special slots, the other blobs (requirements, entitlements).
 * Every hash is recomputed here and compared.
 *
 * Pure: a Buffer in, a report out.
 */
import { createHash } from 'node:crypto';

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSSLOT_CODEDIRECTORY = 0;
const CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000;
const CSSLOT_SIGNATURESLOT = 0x10000;
const CS_ADHOC = 0x2;

export const CPU_TYPES: Record<number, string> = { 0x01000007: 'x86_64', 0x0100000c: 'arm64' };

const HASHES: Record<number, { algorithm: string; size: number; name: string }> = {
  1: { algorithm: 'sha1', size: 20, name: 'sha1' },
  2: { algorithm: 'sha256', size: 32, name: 'sha256' },
  3: { algorithm: 'sha256', size: 20, name: 'sha256-truncated' },
  4: { algorithm: 'sha384', size: 48, name: 'sha384' },
};

export interface Segment {
  name: string;
  fileoff: number;
  filesize: number;
  sections: { name: string; offset: number; size: number }[];
}

export interface CodeDirectoryReport {
  slot: number;
  identifier: string;
  hashType: string;
  flags: number;
  adhoc: boolean;
  pageSize: number;
  codeLimit: number;
  pages: number;
  badPages: number[];
  specialSlots: { slot: number; ok: boolean }[];
}

export interface MachOReport {
  cpu: string;
  fileType: number;
  segments: Segment[];
  signature?: { offset: number; size: number; codeDirectories: CodeDirectoryReport[]; cmsSize: number };
  problems: string[];
}

function cstring(buf: Buffer, start: number, max: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('latin1', start, end < 0 || end > start + max ? start + max : end);
}

function digest(algorithm: string, size: number, data: Buffer): Buffer {
  return createHash(algorithm).update(data).digest().subarray(0, size);
}

/** The section of a segment, by names (e.g. NODE_SEA / __NODE_SEA_BLOB), as a slice of the file. */
export function machOSection(buf: Buffer, report: MachOReport, segment: string, section: string): Buffer | undefined {
  const s = report.segments.find((g) => g.name === segment)?.sections.find((c) => c.name === section);
  return s ? buf.subarray(s.offset, s.offset + s.size) : undefined;
}

function checkCodeDirectory(file: Buffer, sig: Buffer, slot: number, at: number, blobs: Map<number, Buffer>, sigOffset: number, problems: string[]): CodeDirectoryReport {
  const cd = sig.subarray(at, at + sig.readUInt32BE(at + 4));
  const version = cd.readUInt32BE(8);
  const flags = cd.readUInt32BE(12);
  const hashOffset = cd.readUInt32BE(16);
  const identOffset = cd.readUInt32BE(20);
  const nSpecialSlots = cd.readUInt32BE(24);
  const nCodeSlots = cd.readUInt32BE(28);
  let codeLimit = cd.readUInt32BE(32);
  const hashSize = cd.readUInt8(36);
  const hashType = cd.readUInt8(37);
  const pageShift = cd.readUInt8(39);
  if (version >= 0x20300 && cd.length >= 64) {
    const limit64 = Number(cd.readBigUInt64BE(56));
    if (limit64) codeLimit = limit64;
  }
  const where = `CodeDirectory in slot 0x${slot.toString(16)}`;
  const hash = HASHES[hashType];
  const report: CodeDirectoryReport = {
    slot,
    identifier: cstring(cd, identOffset, 1024),
    hashType: hash?.name ?? `unknown(${hashType})`,
    flags,
    adhoc: (flags & CS_ADHOC) !== 0,
    pageSize: pageShift ? 2 ** pageShift : 0,
    codeLimit,
    pages: nCodeSlots,
    badPages: [],
    specialSlots: [],
  };
  if (!hash || hash.size !== hashSize) {
    problems.push(`${where}: hash type ${hashType} with size ${hashSize} is not one this checker knows`);
    return report;
  }
  if (codeLimit !== sigOffset) problems.push(`${where}: covers ${codeLimit} bytes, but the signature starts at ${sigOffset}`);
  const pageSize = report.pageSize || codeLimit;
  const expectedSlots = pageSize ? Math.ceil(codeLimit / pageSize) : 0;
  if (nCodeSlots !== expectedSlots) problems.push(`${where}: ${nCodeSlots} page hashes for ${expectedSlots} pages`);
  if (hashOffset + nCodeSlots * hashSize > cd.length || hashOffset < nSpecialSlots * hashSize) {
    problems.push(`${where}: its hash table lies outside it`);
    return report;
  }
  for (let i = 0; i < nCodeSlots; i++) {
    const start = i * pageSize;
    const page = file.subarray(start, Math.min(start + pageSize, codeLimit));
    const want = cd.subarray(hashOffset + i * hashSize, hashOffset + (i + 1) * hashSize);
    if (!digest(hash.algorithm, hashSize, page).equals(want)) report.badPages.push(i);
  }
  if (report.badPages.length) {
    const shown = report.badPages.slice(0, 5).join(', ');
    problems.push(`${where}: ${report.badPages.length} of ${nCodeSlots} page hashes do not match (pages ${shown}${report.badPages.length > 5 ? ', ...' : ''})`);
  }
  for (let s = 1; s <= nSpecialSlots; s++) {
    const want = cd.subarray(hashOffset - s * hashSize, hashOffset - (s - 1) * hashSize);
    const blob = blobs.get(s);
    const ok = blob ? digest(hash.algorithm, hashSize, blob).equals(want) : want.every((b) => b === 0);
    report.specialSlots.push({ slot: s, ok });
    if (!ok) problems.push(`${where}: special slot ${s} ${blob ? 'does not match its blob' : 'names a blob the signature lacks'}`);
  }
  return report;
}

/** Parses a thin 64-bit Mach-O file and checks its code signature, page by page. */
export function inspectMachO(file: Buffer): MachOReport {
  const report: MachOReport = { cpu: 'unknown', fileType: 0, segments: [], problems: [] };
  try {
    parseMachO(file, report);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    report.problems.push('a structure runs past the end of the file');
  }
  return report;
}

function parseMachO(file: Buffer, report: MachOReport): void {
  const { problems } = report;
  if (file.length < 32 || file.readUInt32LE(0) !== MH_MAGIC_64) {
    problems.push('not a 64-bit little-endian Mach-O file');
    return;
  }
  const cpuType = file.readInt32LE(4);
  report.cpu = CPU_TYPES[cpuType] ?? `cputype 0x${cpuType.toString(16)}`;
  report.fileType = file.readUInt32LE(12);
  const ncmds = file.readUInt32LE(16);
  let at = 32;
  let signature: { offset: number; size: number } | undefined;
  for (let i = 0; i < ncmds; i++) {
    if (at + 8 > file.length) {
      problems.push('load commands run past the end of the file');
      return;
    }
    const cmd = file.readUInt32LE(at);
    const size = file.readUInt32LE(at + 4);
    if (cmd === LC_SEGMENT_64) {
      const seg: Segment = { name: cstring(file, at + 8, 16), fileoff: Number(file.readBigUInt64LE(at + 40)), filesize: Number(file.readBigUInt64LE(at + 48)), sections: [] };
      const nsects = file.readUInt32LE(at + 64);
      for (let s = 0; s < nsects; s++) {
        const sec = at + 72 + s * 80;
        seg.sections.push({ name: cstring(file, sec, 16), offset: file.readUInt32LE(sec + 48), size: Number(file.readBigUInt64LE(sec + 40)) });
      }
      if (seg.fileoff + seg.filesize > file.length) problems.push(`segment ${seg.name} runs past the end of the file`);
      report.segments.push(seg);
    } else if (cmd === LC_CODE_SIGNATURE) {
      signature = { offset: file.readUInt32LE(at + 8), size: file.readUInt32LE(at + 12) };
    }
    at += size;
  }
  if (!signature) {
    problems.push('no LC_CODE_SIGNATURE: the binary is not signed');
    return;
  }
  const linkedit = report.segments.find((s) => s.name === '__LINKEDIT');
  if (!linkedit || signature.offset < linkedit.fileoff || signature.offset + signature.size > linkedit.fileoff + linkedit.filesize) {
    problems.push('the code signature lies outside __LINKEDIT');
  }
  if (signature.offset + signature.size > file.length) {
    problems.push('the code signature runs past the end of the file');
    return;
  }
  const sig = file.subarray(signature.offset, signature.offset + signature.size);
  if (sig.readUInt32BE(0) !== CSMAGIC_EMBEDDED_SIGNATURE) {
    problems.push('the code signature is not an embedded-signature SuperBlob');
    return;
  }
  const count = sig.readUInt32BE(8);
  const index: { type: number; offset: number }[] = [];
  for (let i = 0; i < count; i++) index.push({ type: sig.readUInt32BE(12 + i * 8), offset: sig.readUInt32BE(16 + i * 8) });
  const blobs = new Map<number, Buffer>();
  for (const e of index) blobs.set(e.type, sig.subarray(e.offset, e.offset + sig.readUInt32BE(e.offset + 4)));
  const directories = index.filter((e) => e.type === CSSLOT_CODEDIRECTORY || (e.type >= CSSLOT_ALTERNATE_CODEDIRECTORIES && e.type < CSSLOT_ALTERNATE_CODEDIRECTORIES + 5));
  if (!directories.length) problems.push('the signature has no CodeDirectory');
  const codeDirectories: CodeDirectoryReport[] = [];
  for (const d of directories) {
    if (sig.readUInt32BE(d.offset) !== CSMAGIC_CODEDIRECTORY) {
      problems.push(`slot 0x${d.type.toString(16)} does not hold a CodeDirectory`);
      continue;
    }
    codeDirectories.push(checkCodeDirectory(file, sig, d.type, d.offset, blobs, signature.offset, problems));
  }
  report.signature = { ...signature, codeDirectories, cmsSize: Math.max(0, (blobs.get(CSSLOT_SIGNATURESLOT)?.length ?? 8) - 8) };
}
