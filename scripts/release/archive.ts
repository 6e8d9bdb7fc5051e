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
  const crc = crc32(data);
  const nameBytes = Buffer.from(name, 'utf8');
  const local = Buffer.alloc(30 + nameBytes.length);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed: deflate
  local.writeUInt16LE(0x0800, 6); // UTF-8 names
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt16LE(DOS_TIME, 10);
  local.writeUInt16LE(DOS_DATE, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  local.writeUInt16LE(0, 28);
  nameBytes.copy(local, 30);
  const central = Buffer.alloc(46 + nameBytes.length);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, so the mode below is read
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x0800, 8);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(DOS_TIME, 12);
  central.writeUInt16LE(DOS_DATE, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(packed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
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
