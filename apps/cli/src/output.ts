/** Human output (tables, lines, a progress line on a terminal) or JSON for scripts. */
export class Output {
  private progressShown = false;

  constructor(readonly json: boolean) {}

  write(value: unknown): number {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
    return 0;
  }

  line(text: string): number {
    process.stdout.write(text + '\n');
    return 0;
  }

  table(headers: string[], rows: string[][]): void {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const format = (cells: string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
        .join('   ')
        .trimEnd();
    process.stdout.write([format(headers), ...rows.map(format)].join('\n') + '\n');
  }

  /** A single rewritten status line on stderr, only when stderr is a terminal. */
  progress(text: string): void {
    if (!process.stderr.isTTY) return;
    process.stderr.write(`\r\x1b[K${text}`);
    this.progressShown = true;
  }

  progressDone(): void {
    if (this.progressShown) process.stderr.write('\n');
    this.progressShown = false;
  }
}
