/**
 * Streams, output formats and the table printer shared by every command.
 * Results go to stdout, progress and diagnostics to stderr; colour and
 * spinners only on a TTY and never with NO_COLOR.
 */
import { UsageError } from './errors.js';

export interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** The streams a command writes to; injected so tests can capture them. */
export interface Io {
  stdout: Stream;
  stderr: Stream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/**
 * Spinners and live views: the stream is a terminal with a known width, and
 * this is not CI. (A pseudo-terminal of width 0 would make a spinner redraw for ever.)
 */
export function interactive(io: Io, stream: Stream): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && !io.env.CI && io.env.TERM !== 'dumb';
}

export function interactiveStderr(io: Io): boolean {
  return interactive(io, io.stderr);
}

/** A block of lines redrawn in place on a terminal (cursor up, clear below, write). */
export function liveRegion(stream: Stream): (text: string) => void {
  let drawn = 0;
  return (text: string): void => {
    stream.write(`${drawn ? `\u001b[${drawn}A\u001b[J` : ''}${text}`);
    drawn = text.split('\n').length - 1;
  };
}

/** Colour: the stream is a terminal and NO_COLOR is unset (any value turns it off). */
export function colorEnabled(io: Io, stream: Stream = io.stdout): boolean {
  return Boolean(stream.isTTY) && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
}

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

export function parseOutputFormat(value: string | undefined, allowed: readonly OutputFormat[]): OutputFormat {
  if (value === undefined || value === '') return 'table';
  const format = value as OutputFormat;
  if (format !== 'table' && allowed.includes(format)) return format;
  throw new UsageError(`unsupported output format "${value}"`, {
    hint: `-o takes one of: ${allowed.filter((f) => f !== 'table').join(', ')}`,
  });
}

/** Prints a result object as JSON or YAML (YAML support is loaded only when asked for). */
export async function writeStructured(io: Io, format: 'json' | 'yaml', value: unknown): Promise<void> {
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const { toYaml } = await import('../util/yaml.js');
  io.stdout.write(toYaml(value));
}

const ANSI = { red: 31, yellow: 33, green: 32, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof ANSI;

export function paint(enabled: boolean, colour: Colour, text: string): string {
  return enabled ? `\u001b[${ANSI[colour]}m${text}\u001b[0m` : text;
}
