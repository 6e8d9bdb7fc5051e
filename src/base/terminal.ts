/**
 * The terminal: whether a stream is interactive, colour, and the one live
 * component (a spinner line, or a block redrawn in place with a spinner
 * under it) that the drain, rollout status and maintain all use. Spinners
 * and live views only on an interactive stream; colour only on a terminal
 * and never with NO_COLOR.
 */
import type { Io, Stream } from './io.js';

/**
 * Spinners and live views: the stream is a terminal with a known width, and
 * this is not CI. (A pseudo-terminal of width 0 would make a spinner redraw for ever.)
 */
export function interactive(io: Io, stream: Stream): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && !io.env.CI && io.env.TERM !== 'dumb';
}

/** Colour: the stream is a terminal and NO_COLOR is unset (any value turns it off). */
export function colorEnabled(io: Io, stream: Stream = io.stdout): boolean {
  return Boolean(stream.isTTY) && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
}

const ANSI = { red: 31, yellow: 33, green: 32, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof ANSI;

export function paint(enabled: boolean, colour: Colour, text: string): string {
  return enabled ? `\u001b[${ANSI[colour]}m${text}\u001b[0m` : text;
}

/**
 * Progress on one stream. On an interactive stream: `update` redraws a
 * block in place (wrapped lines included) with a spinner and a status line
 * under it, `note` prints a line above it that stays. Elsewhere `update`
 * draws nothing and `note` prints the line: logs get one line per event.
 */
export interface LiveView {
  readonly live: boolean;
  update(block: string, status?: string): void;
  note(line: string): void;
  stop(): void;
}

/** The log form of a LiveView: one line per note, nothing redrawn. */
export function lineView(stream: Stream): LiveView {
  return { live: false, update: () => {}, note: (line) => void stream.write(`${line}\n`), stop: () => {} };
}

export async function liveView(io: Io, stream: Stream): Promise<LiveView> {
  if (!interactive(io, stream)) return lineView(stream);
  const { default: ora } = await import('ora');
  const spinner = ora({ stream: stream as NodeJS.WritableStream, discardStdin: false, isEnabled: true }).start();
  let stopped = false;
  return {
    live: true,
    update(block, status = '') {
      if (stopped) return;
      // The block sits above the spinner line; ora counts wrapped lines when it clears them.
      spinner.prefixText = block.replace(/\n+$/, '') ? `${block.replace(/\n+$/, '')}\n` : '';
      spinner.text = status;
    },
    note(line) {
      if (stopped) {
        stream.write(`${line}\n`);
        return;
      }
      const { prefixText, text } = spinner;
      spinner.prefixText = '';
      spinner.stopAndPersist({ symbol: '', text: line });
      spinner.prefixText = prefixText;
      spinner.start(text);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      const block = spinner.prefixText;
      spinner.stop();
      // What was drawn last stays on the screen, without the spinner.
      if (typeof block === 'string' && block) stream.write(block);
    },
  };
}
