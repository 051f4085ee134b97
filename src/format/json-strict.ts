// A strict JSON parser for safetensors headers and index files.
//
// JSON.parse is not enough here: it silently keeps the last of duplicate keys (a header could then
// describe a tensor twice and be read differently by different tools), it builds plain objects (a
// tensor named `__proto__` would be lost), and it hides the number literal (we must tell `2` from
// `2.0` or `2e0`, which the reference Rust implementation rejects for offsets and shapes).
// This parser follows RFC 8259 exactly, keeps objects as ordered key/value lists (duplicates kept, for
// the caller to reject with the right error code), keeps number literals as text, rejects escaped lone
// surrogates (not valid Unicode scalar values, as serde_json does) and limits nesting depth so a
// hostile header cannot overflow the stack.

/** Deepest nesting accepted. A safetensors header needs 3 levels; index files about the same. */
export const MAX_JSON_DEPTH = 64;

/** A JSON number, kept as its literal text. */
export class JsonNumber {
  /** The value when the literal is a plain non-negative integer (no sign, fraction or exponent) that a double holds exactly; else undefined. */
  readonly safeNonNegativeInteger: number | undefined;

  constructor(
    readonly lexeme: string,
    /** true when the literal is digits only */
    plainDigits: boolean,
  ) {
    const v = plainDigits ? Number(lexeme) : Number.NaN;
    this.safeNonNegativeInteger = Number.isSafeInteger(v) ? v : undefined;
  }

  get value(): number {
    return Number(this.lexeme);
  }
}

/** A JSON object as its members in source order; duplicate keys are kept. */
export class JsonObject {
  readonly entries: Array<[string, JsonValue]> = [];
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

/** Raised for malformed JSON; `position` is a UTF-16 index into the parsed text. */
export class JsonSyntaxError extends Error {
  constructor(
    detail: string,
    readonly position: number,
  ) {
    super(`${detail} at character ${position}`);
  }
}

const WS_SPACE = 0x20;
const WS_TAB = 0x09;
const WS_LF = 0x0a;
const WS_CR = 0x0d;

/**
 * Parses `text` as one JSON value, optionally surrounded by JSON whitespace.
 * Throws JsonSyntaxError (only) on any deviation from RFC 8259 or nesting deeper than MAX_JSON_DEPTH.
 */
export function parseJsonStrict(text: string): JsonValue {
  const p = new Parser(text);
  p.skipWs();
  const v = p.value(0);
  p.skipWs();
  if (p.pos !== text.length) throw new JsonSyntaxError('unexpected data after the JSON value', p.pos);
  return v;
}

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  skipWs(): void {
    const s = this.s;
    let i = this.pos;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === WS_SPACE || c === WS_TAB || c === WS_LF || c === WS_CR) i++;
      else break;
    }
    this.pos = i;
  }

  fail(detail: string): never {
    throw new JsonSyntaxError(detail, this.pos);
  }

  value(depth: number): JsonValue {
    const c = this.s.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.object(depth + 1);
      case 0x5b /* [ */:
        return this.array(depth + 1);
      case 0x22 /* " */:
        return this.string();
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
    }
  }

  literal<T>(word: string, v: T): T {
    if (this.s.startsWith(word, this.pos)) {
      this.pos += word.length;
      return v;
    }
    return this.fail('invalid literal');
  }

  object(depth: number): JsonObject {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    const obj = new JsonObject();
    this.pos++; // {
    this.skipWs();
    if (this.s.charCodeAt(this.pos) === 0x7d /* } */) {
      this.pos++;
      return obj;
    }
    for (;;) {
      if (this.s.charCodeAt(this.pos) !== 0x22) this.fail('expected a string key');
      const key = this.string();
      this.skipWs();
      if (this.s.charCodeAt(this.pos) !== 0x3a /* : */) this.fail("expected ':'");
      this.pos++;
      this.skipWs();
      obj.entries.push([key, this.value(depth)]);
      this.skipWs();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c /* , */) {
        this.pos++;
        this.skipWs();
      } else if (c === 0x7d) {
        this.pos++;
        return obj;
      } else this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): JsonValue[] {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    const arr: JsonValue[] = [];
    this.pos++; // [
    this.skipWs();
    if (this.s.charCodeAt(this.pos) === 0x5d /* ] */) {
      this.pos++;
      return arr;
    }
    for (;;) {
      arr.push(this.value(depth));
      this.skipWs();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        this.skipWs();
      } else if (c === 0x5d) {
        this.pos++;
        return arr;
      } else this.fail("expected ',' or ']'");
    }
  }

  number(): JsonNumber {
    const s = this.s;
    const start = this.pos;
    let i = start;
    let plainDigits = true;
    if (s.charCodeAt(i) === 0x2d) {
      i++;
      plainDigits = false;
    }
    const d0 = s.charCodeAt(i);
    if (d0 === 0x30) i++;
    else if (d0 >= 0x31 && d0 <= 0x39) {
      while (isDigit(s.charCodeAt(i))) i++;
    } else {
      this.pos = i;
      this.fail('invalid number');
    }
    if (s.charCodeAt(i) === 0x2e /* . */) {
      i++;
      plainDigits = false;
      if (!isDigit(s.charCodeAt(i))) {
        this.pos = i;
        this.fail('invalid number fraction');
      }
      while (isDigit(s.charCodeAt(i))) i++;
    }
    const e = s.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      plainDigits = false;
      const sign = s.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!isDigit(s.charCodeAt(i))) {
        this.pos = i;
        this.fail('invalid number exponent');
      }
      while (isDigit(s.charCodeAt(i))) i++;
    }
    this.pos = i;
    return new JsonNumber(s.slice(start, i), plainDigits);
  }

  string(): string {
    const s = this.s;
    let i = this.pos + 1; // after the opening quote
    let out = '';
    let runStart = i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(runStart, i);
        this.pos = i + 1;
        return out;
      }
      if (Number.isNaN(c)) {
        this.pos = i;
        this.fail('unterminated string');
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail('control character in string');
      }
      if (c !== 0x5c /* \ */) {
        i++;
        continue;
      }
      out += s.slice(runStart, i);
      const esc = s.charCodeAt(i + 1);
      switch (esc) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75 /* u */: {
          const u = this.hex4(i + 2);
          if (u >= 0xd800 && u <= 0xdbff) {
            // A high surrogate must be followed by an escaped low surrogate.
            if (s.charCodeAt(i + 6) !== 0x5c || s.charCodeAt(i + 7) !== 0x75) {
              this.pos = i;
              this.fail('lone surrogate escape');
            }
            const lo = this.hex4(i + 8);
            if (lo < 0xdc00 || lo > 0xdfff) {
              this.pos = i;
              this.fail('lone surrogate escape');
            }
            out += String.fromCharCode(u, lo);
            i += 12;
          } else if (u >= 0xdc00 && u <= 0xdfff) {
            this.pos = i;
            this.fail('lone surrogate escape');
          } else {
            out += String.fromCharCode(u);
            i += 6;
          }
          runStart = i;
          continue;
        }
        default:
          this.pos = i;
          this.fail('invalid escape');
      }
      i += 2;
      runStart = i;
    }
  }

  hex4(at: number): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.s.charCodeAt(at + k);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else {
        this.pos = at + k;
        return this.fail('invalid \\u escape');
      }
      v = v * 16 + d;
    }
    return v;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
