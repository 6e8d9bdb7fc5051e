/**
 * The one printer choice: a result goes out as JSON, YAML (or one JSON
 * object per line, for a watch) or the job's table, on stdout.
 */
import type { CommandPrinter, RunContext } from '../base/run.js';
import { colorEnabled } from '../base/terminal.js';
import type { FleetAnswer, FleetEntry } from './fleet.js';

export async function present<R>(ctx: RunContext, command: CommandPrinter<R>, result: R): Promise<void> {
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

/**
 * A question asked of many contexts: one table with CONTEXT first (or each
 * context's own output under its name), the contexts that gave no answer
 * with their errors, what the command compares across them, and one line
 * saying whether every context answered and whether the same way.
 */
export async function presentFleet<R>(
  ctx: RunContext,
  command: CommandPrinter<R>,
  answer: FleetAnswer<R>,
  streamed: boolean,
): Promise<void> {
  const { io } = ctx;
  for (const item of answer.items)
    for (const line of item.warnings) io.stderr.write(`${prefixed(line, item.context)}\n`);
  if (ctx.output === 'json' || ctx.output === 'yaml') {
    const doc = fleetDocument(answer);
    if (ctx.output === 'json')
      io.stdout.write(
        streamed
          ? `${JSON.stringify({ ...doc, items: undefined, contexts: doc.items.map((i) => i.context) })}\n`
          : `${JSON.stringify(doc, null, 2)}\n`,
      );
    else {
      const { toYaml } = await import('../base/yaml.js');
      io.stdout.write(toYaml(doc));
    }
    return;
  }
  const view = { wide: ctx.output === 'wide', colour: colorEnabled(io) };
  const { renderFleet } = await import('./fleet.js');
  io.stdout.write(renderFleet(command, answer, view));
}

/** One context's entry as -o json and --stream print it: the one-context JSON under `result`. */
export function fleetEntryDocument(entry: FleetEntry): Omit<FleetEntry, 'value' | 'warnings'> {
  const { value: _value, warnings: _warnings, ...doc } = entry;
  return doc;
}

function fleetDocument(answer: FleetAnswer): FleetAnswer {
  return { ...answer, items: answer.items.map((i) => fleetEntryDocument(i) as FleetEntry) };
}

/** "warning: text" of one context as "warning: [context] text". */
function prefixed(line: string, context: string): string {
  const colon = line.indexOf(': ');
  return `${line.slice(0, colon + 2)}[${context}] ${line.slice(colon + 2)}`;
}
