/**
 * A PE (Windows executable) checker for the release binary: the headers, the section
 * table, no Authenticode signature left over (the runtime's own is stripped before the
 * blob is injected; a signature that no longer matches is worse than none), and the
 * RT_RCDATA resource NODE_SEA_BLOB that Node reads its program from.
 *
 * Pure: a Buffer in, a report out.
 */
const IMAGE_FILE_MACHINE_AMD64 = 0x8664;
const PE32_PLUS = 0x20b;
const DIRECTORY_RESOURCE = 2;
const DIRECTORY_SECURITY = 4;
const RT_RCDATA = 10;

export const PE_MACHINES: Record<number, string> = { [IMAGE_FILE_MACHINE_AMD64]: 'x86_64', 0xaa64: 'arm64', 0x14c: 'i386' };

export interface PeReport {
  cpu: string;
  sections: { name: string; rva: number; virtualSize: number; offset: number; rawSize: number }[];
  signed: boolean;
  /** The named RT_RCDATA resources, with their place in the file. */
  resources: Map<string, { offset: number; size: number }>;
  problems: string[];
}

function fileOffset(report: PeReport, rva: number): number | undefined {
  const s = report.sections.find((x) => rva >= x.rva && rva < x.rva + Math.max(x.virtualSize, x.rawSize));
  return s ? rva - s.rva + s.offset : undefined;
}

function readResources(file: Buffer, report: PeReport, rootRva: number): void {
  const root = fileOffset(report, rootRva);
  if (root === undefined) {
    report.problems.push('the resource directory lies outside every section');
    return;
  }
  const entries = (dir: number): { id: number | string; target: number; isDir: boolean }[] => {
    const named = file.readUInt16LE(dir + 12);
    const ids = file.readUInt16LE(dir + 14);
    const out = [];
    for (let i = 0; i < named + ids; i++) {
      const e = dir + 16 + i * 8;
      const name = file.readUInt32LE(e);
      const data = file.readUInt32LE(e + 4);
      let id: number | string = name;
      if (name & 0x80000000) {
        const s = root + (name & 0x7fffffff);
        id = file.toString('utf16le', s + 2, s + 2 + file.readUInt16LE(s) * 2);
      }
      out.push({ id, target: root + (data & 0x7fffffff), isDir: (data & 0x80000000) !== 0 });
    }
    return out;
  };
  const rcdata = entries(root).find((e) => e.id === RT_RCDATA && e.isDir);
  if (!rcdata) return;
  for (const named of entries(rcdata.target)) {
    if (typeof named.id !== 'string' || !named.isDir) continue;
    const leaf = entries(named.target).find((e) => !e.isDir);
    if (!leaf) continue;
    const offset = fileOffset(report, file.readUInt32LE(leaf.target));
    const size = file.readUInt32LE(leaf.target + 4);
    if (offset === undefined || offset + size > file.length) report.problems.push(`resource ${named.id} lies outside the file`);
    else report.resources.set(named.id, { offset, size });
  }
}

/** Parses a PE32+ file: machine, sections, Authenticode, named RT_RCDATA resources. */
export function inspectPe(file: Buffer): PeReport {
  const report: PeReport = { cpu: 'unknown', sections: [], signed: false, resources: new Map(), problems: [] };
  const { problems } = report;
  if (file.length < 0x40 || file.toString('latin1', 0, 2) !== 'MZ') {
    problems.push('no MZ header: not a PE file');
    return report;
  }
  const pe = file.readUInt32LE(0x3c);
  if (pe + 24 > file.length || file.readUInt32LE(pe) !== 0x00004550) {
    problems.push('no PE signature where the DOS header points');
    return report;
  }
  const machine = file.readUInt16LE(pe + 4);
  report.cpu = PE_MACHINES[machine] ?? `machine 0x${machine.toString(16)}`;
  const nSections = file.readUInt16LE(pe + 6);
  const optSize = file.readUInt16LE(pe + 20);
  const opt = pe + 24;
  if (file.readUInt16LE(opt) !== PE32_PLUS) {
    problems.push('the optional header is not PE32+');
    return report;
  }
  const fileAlignment = file.readUInt32LE(opt + 36);
  const sizeOfImage = file.readUInt32LE(opt + 56);
  const sizeOfHeaders = file.readUInt32LE(opt + 60);
  const nDirs = file.readUInt32LE(opt + 108);
  const dir = (i: number): { rva: number; size: number } =>
    i < nDirs ? { rva: file.readUInt32LE(opt + 112 + i * 8), size: file.readUInt32LE(opt + 116 + i * 8) } : { rva: 0, size: 0 };
  const table = opt + optSize;
  let end = sizeOfHeaders;
  for (let i = 0; i < nSections; i++) {
    const s = table + i * 40;
    const section = {
      name: file.toString('latin1', s, s + 8).replace(/\0+$/, ''),
      virtualSize: file.readUInt32LE(s + 8),
      rva: file.readUInt32LE(s + 12),
      rawSize: file.readUInt32LE(s + 16),
      offset: file.readUInt32LE(s + 20),
    };
    report.sections.push(section);
    if (section.rawSize && section.offset + section.rawSize > file.length) problems.push(`section ${section.name} runs past the end of the file`);
    if (section.rawSize && fileAlignment && section.offset % fileAlignment !== 0) problems.push(`section ${section.name} is not file-aligned`);
    if (section.rva + section.virtualSize > sizeOfImage) problems.push(`section ${section.name} lies beyond SizeOfImage`);
    end = Math.max(end, section.offset + section.rawSize);
  }
  const security = dir(DIRECTORY_SECURITY);
  report.signed = security.size > 0;
  if (report.signed) problems.push(`an Authenticode signature is present (${security.size} bytes at ${security.rva})`);
  else if (end < file.length) problems.push(`${file.length - end} bytes follow the last section`);
  const resources = dir(DIRECTORY_RESOURCE);
  try {
    if (resources.size) readResources(file, report, resources.rva);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    problems.push('the resource directory runs past the end of the file');
  }
  return report;
}
