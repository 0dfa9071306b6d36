/** An error in a zone file, reported as `file:line: reason`. */
export class ZoneFileError extends Error {
  readonly file: string;
  readonly line: number;
  readonly reason: string;

  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ZoneFileError';
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}
