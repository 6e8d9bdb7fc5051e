/** The kubectl-style table printer, apart from output.ts so start-up does not load cli-table3. */
import Table from 'cli-table3';

export const NONE = '<none>';

/**
 * A kubectl-style table: UPPER CASE headers, columns separated by three
 * spaces, no borders. Empty cells print as <none>.
 */
export function renderTable(headers: string[], rows: Array<Array<string | number | undefined | null>>): string {
  const table = new Table({
    head: headers.map((h) => h.toUpperCase()),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: '   ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    wordWrap: false,
  });
  for (const row of rows) {
    table.push(row.map((cell) => (cell === undefined || cell === null || cell === '' ? NONE : String(cell))));
  }
  return `${table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')}\n`;
}
