/**
 * A question on the terminal that always settles: an answer, or an
 * InterruptedError on Ctrl-C (readline catches it in raw mode), on the
 * command's interrupt signal, or when stdin closes (Ctrl-D: no answer).
 */
import { InterruptedError } from './errors.js';
import type { Io } from './io.js';

export async function ask(io: Io, question: string, signal: AbortSignal): Promise<string> {
  // readline is loaded when a question is asked: the wiring imports canAsk, and start-up need not pay for it.
  const { createInterface } = await import('node:readline');
  return new Promise((resolve, reject) => {
    const rl = createInterface({
      input: io.stdin,
      output: io.stderr as NodeJS.WritableStream,
      terminal: Boolean(io.stdin.isTTY),
    });
    let settled = false;
    const finish = (err: Error | undefined, answer = ''): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      rl.close();
      if (err) reject(err);
      else resolve(answer);
    };
    const onAbort = (): void => finish(new InterruptedError('interrupted at the prompt; nothing more was changed'));
    signal.addEventListener('abort', onAbort, { once: true });
    rl.on('SIGINT', () => {
      io.stderr.write('\n');
      finish(new InterruptedError('interrupted at the prompt; nothing more was changed'));
    });
    rl.on('close', () => finish(undefined, ''));
    rl.question(question, (answer) => finish(undefined, answer));
  });
}

/** A yes/no question; anything but y or yes (and Ctrl-D) is no. */
export async function confirm(io: Io, question: string, signal: AbortSignal): Promise<boolean> {
  return /^y(es)?$/i.test((await ask(io, `${question} [y/N] `, signal)).trim());
}

/** Whether a question can be asked at all: both stdin and stderr are terminals. */
export function canAsk(io: Io): boolean {
  return Boolean(io.stdin.isTTY && io.stderr.isTTY);
}
