/** Captured streams for running a plugin in-process. */
import { Readable } from 'node:stream';

import type { Io } from '../../src/base/io.js';

export interface CapturedIo extends Io {
  out: () => string;
  err: () => string;
}

export function captureIo(env: NodeJS.ProcessEnv = {}, tty = false): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: tty },
    stderr: { write: (s: string) => (err += s), isTTY: tty },
    stdin: Readable.from([]) as unknown as Io['stdin'],
    env: { NO_COLOR: '1', ...env },
    out: () => out,
    err: () => err,
  };
}
