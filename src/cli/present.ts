/**
 * The one printer choice: a result goes out as JSON, YAML (or one JSON
 * object per line, for a watch) or the job's table, on stdout.
 */
import type { Command, RunContext } from '../base/run.js';
import { colorEnabled } from '../base/terminal.js';

export async function present<R>(ctx: RunContext, command: Command<never, R>, result: R): Promise<void> {
  const { io } = ctx;
  for (const line of command.info?.(result) ?? []) io.stderr.write(`info: ${line}\n`);
  for (const w of command.warnings?.(result) ?? []) io.stderr.write(`warning: ${w}\n`);
  if (ctx.output === 'json' || ctx.output === 'yaml') {
    const doc = command.document ? command.document(result) : result;
    if (ctx.output === 'json') {
      io.stdout.write(command.jsonLines?.(result) ? `${JSON.stringify(doc)}\n` : `${JSON.stringify(doc, null, 2)}\n`);
      return;
    }
    const { toYaml } = await import('../base/yaml.js');
    io.stdout.write(toYaml(doc));
    return;
  }
  const text = command.render(result, { wide: ctx.output === 'wide', colour: colorEnabled(io) });
  if (text) io.stdout.write(text);
}
