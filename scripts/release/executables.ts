/**
 * What the release checks of every executable it built, whether or not this machine can
 * run it: the format and CPU the platform needs, the blob where Node looks for it
 * (ELF note, Mach-O section NODE_SEA/__NODE_SEA_BLOB, PE resource RT_RCDATA/NODE_SEA_BLOB),
 * the SEA fuse flipped exactly once, and for macOS the code signature, page by page.
 *
 * Pure: the executable and the blob in, a list of findings out.
 */
import { inspectMachO, machOSection } from './macho.js';
import { inspectPe } from './pe.js';
import { CPU_NAME, type Platform } from './platforms.js';

export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const ELF_MACHINES: Record<number, string> = { 62: 'x86_64', 183: 'arm64' };

export interface ExecutableCheck {
  /** What was found, for the release table: "ELF x86_64", "Mach-O arm64", ... */
  format: string;
  /** For macOS: "ad-hoc, 27912/27912 pages"; for Windows: "no Authenticode"; else "". */
  signature: string;
  problems: string[];
}

function count(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) n++;
  return n;
}

export function checkExecutable(p: Platform, file: Buffer, blob: Buffer): ExecutableCheck {
  const want = CPU_NAME[p.arch];
  const problems: string[] = [];
  let format = '';
  let signature = '';
  let embedded: Buffer | undefined;
  if (p.format === 'elf') {
    const ok = file.length > 64 && file.readUInt32BE(0) === 0x7f454c46 && file[4] === 2 && file[5] === 1;
    const cpu = ok ? (ELF_MACHINES[file.readUInt16LE(18)] ?? `e_machine ${file.readUInt16LE(18)}`) : 'unknown';
    format = `ELF ${cpu}`;
    if (!ok) problems.push('not a 64-bit little-endian ELF file');
    else if (cpu !== want) problems.push(`built for ${cpu}, not ${want}`);
    // postject puts the blob in a PT_NOTE of its own; finding its bytes is enough here.
    if (file.indexOf(blob) >= 0) embedded = blob;
  } else if (p.format === 'macho') {
    const r = inspectMachO(file);
    format = `Mach-O ${r.cpu}`;
    problems.push(...r.problems);
    if (r.cpu !== want) problems.push(`built for ${r.cpu}, not ${want}`);
    embedded = machOSection(file, r, 'NODE_SEA', '__NODE_SEA_BLOB');
    const cds = r.signature?.codeDirectories ?? [];
    if (cds.length && !cds.every((cd) => cd.adhoc)) problems.push('the signature is not ad-hoc');
    if (r.signature?.cmsSize) problems.push('an ad-hoc signature carries a CMS signature');
    signature = cds
      .map((cd) => `${cd.adhoc ? 'ad-hoc' : 'signed'} ${cd.hashType}, ${cd.pages - cd.badPages.length}/${cd.pages} pages${cd.specialSlots.every((s) => s.ok) ? '' : ', special slots differ'}`)
      .join('; ');
  } else {
    const r = inspectPe(file);
    format = `PE32+ ${r.cpu}`;
    problems.push(...r.problems);
    if (r.cpu !== want) problems.push(`built for ${r.cpu}, not ${want}`);
    const res = r.resources.get('NODE_SEA_BLOB');
    if (res) embedded = file.subarray(res.offset, res.offset + res.size);
    signature = r.signed ? 'Authenticode (stale)' : 'no Authenticode';
  }
  if (!embedded) problems.push('the SEA blob is not where Node looks for it');
  else if (!embedded.equals(blob)) problems.push('the embedded SEA blob differs from the one built');
  const fuses = count(file, Buffer.from(SEA_FUSE));
  if (fuses !== 1) problems.push(`the SEA fuse occurs ${fuses} times`);
  else if (count(file, Buffer.from(`${SEA_FUSE}:1`)) !== 1) problems.push('the SEA fuse is not flipped');
  return { format, signature, problems };
}
