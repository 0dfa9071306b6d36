// Splits master file text (RFC 1035 §5.1) into entries: one per line, or several lines
// joined by parentheses. Comments are dropped. Token text keeps its backslash escapes;
// the consumer decides whether a token is a name or a character string and unescapes it.

import { ZoneFileError } from './errors.ts';

export type Token = { text: string; quoted: boolean; line: number };

export type Entry = {
  tokens: Token[];
  line: number;
  /** The entry's line starts with a blank: the owner is the previous owner. */
  inheritsOwner: boolean;
};

export function tokenize(text: string, file: string): Entry[] {
  const entries: Entry[] = [];
  let tokens: Token[] = [];
  let entryLine = 1;
  let inheritsOwner = false;
  let openParenLine = 0; // 0: not inside parentheses
  let line = 1;
  let atLineStart = true;

  const endLine = () => {
    if (openParenLine === 0) {
      if (tokens.length > 0) entries.push({ tokens, line: entryLine, inheritsOwner });
      tokens = [];
    }
    line += 1;
    atLineStart = true;
  };

  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (atLineStart && openParenLine === 0 && tokens.length === 0) {
      entryLine = line;
      inheritsOwner = c === ' ' || c === '\t';
    }
    atLineStart = false;

    if (c === '\n') {
      endLine();
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '(') {
      if (openParenLine !== 0) throw new ZoneFileError(file, line, 'nested parenthesis');
      openParenLine = line;
      i++;
    } else if (c === ')') {
      if (openParenLine === 0) throw new ZoneFileError(file, line, 'unbalanced closing parenthesis');
      openParenLine = 0;
      i++;
    } else if (c === '"') {
      const end = endOfQuoted(text, i + 1);
      if (end < 0) throw new ZoneFileError(file, line, 'unterminated quoted string');
      tokens.push({ text: text.slice(i + 1, end), quoted: true, line });
      i = end + 1;
    } else {
      const end = endOfWord(text, i);
      tokens.push({ text: text.slice(i, end), quoted: false, line });
      i = end;
    }
  }
  if (openParenLine !== 0) throw new ZoneFileError(file, openParenLine, 'unterminated parenthesis');
  if (tokens.length > 0) entries.push({ tokens, line: entryLine, inheritsOwner });
  return entries;
}

/** Index of the closing quote, or -1 if the line or the text ends first. */
function endOfQuoted(text: string, start: number): number {
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '\n' || (c === '\\' && text[i + 1] === '\n')) return -1;
    if (c === '\\') i++;
    else if (c === '"') return i;
  }
  return -1;
}

function endOfWord(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] !== '\n') {
      i += 2;
      continue;
    }
    if (' \t\r\n;()"'.includes(c)) break;
    i++;
  }
  return Math.min(i, text.length);
}
