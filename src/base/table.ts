/**
 * The kubectl-style table printer: a plain column printer (kubectl's
 * tabwriter layout), linear in the cells, so thousands of rows cost about
 * what their JSON costs. Only the printers import it, so --help never loads
 * it. cli-table3, which drew these tables before, draws the same bytes but
 * spends seconds on 5,000 rows: it is a dev dependency, the reference the
 * unit tests compare this printer against.
 */
import { stripVTControlCharacters } from 'node:util';

export const NONE = '<none>';

const SEPARATOR = '   ';

/** Code points a terminal draws two columns wide: CJK, Hangul, fullwidth forms, most emoji. */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe10 && cp <= 0xfe19) ||
    (cp >= 0xfe30 && cp <= 0xfe6f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

const ZERO_WIDTH = /[\p{Mn}\p{Me}\u200b-\u200f\u2060\ufeff]/u;

/** How many terminal columns a string takes: colour codes take none. */
export function displayWidth(text: string): number {
  const plain = text.includes('\x1b') ? stripVTControlCharacters(text) : text;
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7e]*$/.test(plain)) return plain.length;
  let width = 0;
  for (const ch of plain) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || ZERO_WIDTH.test(ch)) continue;
    width += isWide(cp) ? 2 : 1;
  }
  return width;
}

/**
 * A kubectl-style table: UPPER CASE headers, columns separated by three
 * spaces, no borders, trailing spaces trimmed. Empty cells print as
 * <none>; a cell of several lines makes its row that tall.
 */
export function renderTable(headers: string[], rows: Array<Array<string | number | undefined | null>>): string {
  const lines: string[][] = [headers.map((h) => h.toUpperCase())];
  for (const row of rows) lines.push(row.map(cellText));
  const widths: number[] = [];
  const split = lines.map((cells) =>
    cells.map((cell, i) => {
      const parts = cell.includes('\n') ? cell.split('\n') : [cell];
      for (const p of parts) widths[i] = Math.max(widths[i] ?? 0, displayWidth(p));
      return parts;
    }),
  );
  let out = '';
  for (const cells of split) {
    const height = Math.max(...cells.map((c) => c.length));
    for (let l = 0; l < height; l++) {
      let line = '';
      cells.forEach((parts, i) => {
        const text = parts[l] ?? '';
        line += i === 0 ? '' : SEPARATOR;
        line += i === cells.length - 1 ? text : text + ' '.repeat(widths[i]! - displayWidth(text));
      });
      out += `${line.trimEnd()}\n`;
    }
  }
  return out;
}

function cellText(cell: string | number | undefined | null): string {
  return cell === undefined || cell === null || cell === '' ? NONE : String(cell);
}
