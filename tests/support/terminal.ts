/**
 * A small terminal emulator for tests: what a screen of `columns` shows
 * after some output, with line wrapping and the cursor movements and
 * erasures the live views use. Enough to tell whether stale lines remain.
 */
export function screen(output: string, columns: number): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  let pendingWrap = false;
  const line = (r: number): string[] => {
    while (lines.length <= r) lines.push([]);
    return lines[r]!;
  };
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!;
    if (ch === '\u001b') {
      // oxlint-disable-next-line no-control-regex -- parsing terminal escapes is the point
      const m = /^\u001b\[([?0-9;]*)([A-Za-z])/.exec(output.slice(i));
      if (!m) continue;
      i += m[0].length - 1;
      const n = Number(m[1]?.replace('?', '').split(';')[0] || 0);
      pendingWrap = false;
      switch (m[2]) {
        case 'A':
          row = Math.max(0, row - (n || 1));
          break;
        case 'B':
          row += n || 1;
          break;
        case 'G':
          col = Math.max(0, (n || 1) - 1);
          break;
        case 'K': {
          const l = line(row);
          if (n === 0) l.length = Math.min(l.length, col);
          else if (n === 2) l.length = 0;
          else for (let c = 0; c <= col && c < l.length; c++) l[c] = ' ';
          break;
        }
        case 'J':
          if (n === 0) {
            line(row).length = Math.min(line(row).length, col);
            lines.length = row + 1;
          } else if (n === 2) {
            lines.length = 0;
            lines.push([]);
          }
          break;
        default:
          break; // colours, cursor visibility
      }
      continue;
    }
    if (ch === '\r') {
      col = 0;
      pendingWrap = false;
      continue;
    }
    if (ch === '\n') {
      row++;
      col = 0;
      pendingWrap = false;
      line(row);
      continue;
    }
    if (pendingWrap) {
      row++;
      col = 0;
      pendingWrap = false;
    }
    const l = line(row);
    while (l.length < col) l.push(' ');
    l[col] = ch;
    col++;
    if (col === columns) {
      col = columns - 1;
      pendingWrap = true;
    }
  }
  return lines.map((l) => l.join('').trimEnd());
}
