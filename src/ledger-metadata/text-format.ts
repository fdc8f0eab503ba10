// A reader for protobuf TextFormat, the body of v2 ledger metadata znodes (BookKeeper 4.2-4.8 wrote
// them with Java's TextFormat printer). It produces a field tree and knows no schema; the caller maps
// names to fields. Only what Java prints, plus TextFormat's optional separators, is accepted:
//   name: scalar    name { fields }    name < fields >    # comments    "adjacent" "strings"
// Scalars are identifiers (enum values), integers, or C-escaped strings decoded to raw bytes.

export type TextScalar =
  | { readonly kind: 'identifier'; readonly text: string }
  | { readonly kind: 'integer'; readonly value: bigint }
  | { readonly kind: 'bytes'; readonly value: Buffer };

export interface TextField {
  readonly name: string;
  readonly value: TextScalar | readonly TextField[];
}

/** Thrown with the offset of the offending character; callers wrap it in their own error. */
export class TextFormatError extends Error {}

export function parseTextFormat(text: string): TextField[] {
  return new Parser(text).fields(undefined);
}

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
const INTEGER = /-?(?:0[xX][0-9A-Fa-f]+|[0-9]+)/y;
const SKIP = /(?:[\s,;]|#[^\n]*)*/y;

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b, '\\': 0x5c, "'": 0x27, '"': 0x22, '?': 0x3f,
};

class Parser {
  readonly #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  /** Fields up to `close` ('}' or '>'), or to the end of the text when `close` is undefined. */
  fields(close: string | undefined): TextField[] {
    const fields: TextField[] = [];
    for (;;) {
      this.#skip();
      if (this.#pos === this.#text.length) {
        if (close !== undefined) this.#fail(`missing '${close}'`);
        return fields;
      }
      if (this.#text[this.#pos] === close) {
        this.#pos++;
        return fields;
      }
      const name = this.#match(IDENTIFIER) ?? this.#fail('expected a field name');
      this.#skip();
      const colon = this.#text[this.#pos] === ':';
      if (colon) {
        this.#pos++;
        this.#skip();
      }
      const open = this.#text[this.#pos];
      if (open === '{' || open === '<') {
        this.#pos++;
        fields.push({ name, value: this.fields(open === '{' ? '}' : '>') });
      } else if (colon) {
        fields.push({ name, value: this.#scalar() });
      } else {
        this.#fail(`expected ':' after ${name}`);
      }
    }
  }

  #scalar(): TextScalar {
    const quote = this.#text[this.#pos];
    if (quote === '"' || quote === "'") {
      const parts: Buffer[] = [];
      // Adjacent string literals concatenate.
      while (this.#text[this.#pos] === '"' || this.#text[this.#pos] === "'") {
        parts.push(this.#string());
        this.#skip();
      }
      return { kind: 'bytes', value: Buffer.concat(parts) };
    }
    const integer = this.#match(INTEGER);
    if (integer !== undefined) {
      const negative = integer.startsWith('-');
      const magnitude = BigInt(negative ? integer.slice(1) : integer);
      return { kind: 'integer', value: negative ? -magnitude : magnitude };
    }
    const identifier = this.#match(IDENTIFIER);
    if (identifier !== undefined) return { kind: 'identifier', text: identifier };
    return this.#fail('expected a value');
  }

  /** One quoted literal, unescaped to bytes (Java escapes non-ASCII bytes as octal). */
  #string(): Buffer {
    const text = this.#text;
    const quote = text[this.#pos];
    this.#pos++;
    const bytes: number[] = [];
    for (;;) {
      const codePoint = text.codePointAt(this.#pos);
      if (codePoint === undefined || codePoint === 0x0a) return this.#fail('unterminated string');
      const c = String.fromCodePoint(codePoint);
      this.#pos += c.length;
      if (c === quote) return Buffer.from(bytes);
      if (c !== '\\') {
        bytes.push(...Buffer.from(c, 'utf8'));
        continue;
      }
      const e = text[this.#pos] ?? this.#fail('unterminated escape');
      this.#pos++;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        bytes.push(simple);
      } else if (e >= '0' && e <= '7') {
        const digits = e + (/^[0-7]{0,2}/.exec(text.slice(this.#pos, this.#pos + 2))?.[0] ?? '');
        this.#pos += digits.length - 1;
        bytes.push(parseInt(digits, 8) & 0xff);
      } else if (e === 'x' || e === 'X') {
        const hex = /^[0-9A-Fa-f]{1,2}/.exec(text.slice(this.#pos, this.#pos + 2))?.[0];
        const digits = hex ?? this.#fail('bad \\x escape');
        this.#pos += digits.length;
        bytes.push(parseInt(digits, 16));
      } else {
        this.#fail(`unknown escape \\${e}`);
      }
    }
  }

  #skip(): void {
    SKIP.lastIndex = this.#pos;
    SKIP.exec(this.#text);
    this.#pos = SKIP.lastIndex;
  }

  #match(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.#pos;
    const found = pattern.exec(this.#text)?.[0];
    if (found !== undefined) this.#pos = pattern.lastIndex;
    return found;
  }

  #fail(message: string): never {
    throw new TextFormatError(`${message} at offset ${this.#pos}`);
  }
}
