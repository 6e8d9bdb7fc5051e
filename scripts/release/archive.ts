/**
 * The release archives: tar.gz (by the system's tar) for Linux and macOS, and .zip for
 * Windows, as krew expects there. The zip is written here (deflate from zlib), so the
 * release needs no zip program; entries carry a fixed date so the same input gives the
 * same archive.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

/** 1980-01-01 00:00, the earliest DOS date: no build time leaks into the archive. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const DOS_TIME = 0;

function zipEntry(name: string, data: Buffer, mode: number, offset: number): { local: Buffer; central: Buffer } {
  const packed = deflateRawSync(data, { level: 9 });
  const nameBytes = Buffer.from(name, 'utf8');
  // The fields both headers share, from "version needed to extract" to "file name length".
  const shared = Buffer.alloc(24);
  shared.writeUInt16LE(20, 0); // version needed: deflate
  shared.writeUInt16LE(0x0800, 2); // UTF-8 names
  shared.writeUInt16LE(8, 4); // deflate
  shared.writeUInt16LE(DOS_TIME, 6);
  shared.writeUInt16LE(DOS_DATE, 8);
  shared.writeUInt32LE(crc32(data), 10);
  shared.writeUInt32LE(packed.length, 14);
  shared.writeUInt32LE(data.length, 18);
  shared.writeUInt16LE(nameBytes.length, 22);
  const local = Buffer.alloc(30 + nameBytes.length);
  local.writeUInt32LE(0x04034b50, 0);
  shared.copy(local, 4);
  nameBytes.copy(local, 30);
  const central = Buffer.alloc(46 + nameBytes.length);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, so the mode below is read
  shared.copy(central, 6);
  central.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38);
  central.writeUInt32LE(offset, 42);
  nameBytes.copy(central, 46);
  return { local: Buffer.concat([local, packed]), central };
}

/** A zip of the files (flat, under their base names). Below 4 GiB: no zip64 needed. */
export function writeZip(out: string, files: string[]): void {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const { local, central } = zipEntry(path.basename(file), readFileSync(file), statSync(file).mode & 0o777, offset);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(out, Buffer.concat([...locals, directory, end]));
}

/** A tar.gz of the files in dir, owned by root, with the files' own modes. */
export function writeTarGz(out: string, dir: string, names: string[]): void {
  execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '--mtime=1980-01-01', '-czf', out, '-C', dir, ...names]);
}
