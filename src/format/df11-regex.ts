/**
 * Python `re` patterns (the keys of a DF11 `pattern_dict`) compiled to JavaScript RegExps with
 * `re.fullmatch` semantics (df11-format.md §2.3).
 *
 * The two dialects agree on everything published pattern dicts use (`\.`, `\d+`, classes,
 * alternation). What Python accepts and JavaScript does not is rewritten here:
 *
 * | Python                       | JavaScript                                   |
 * |------------------------------|----------------------------------------------|
 * | `(?P<name>…)`, `(?P=name)`   | `(?<name>…)`, `\k<name>`                     |
 * | `(?>…)` atomic group         | `(?=(?<a>…))\k<a>` (exact emulation)         |
 * | `X*+ X++ X?+ X{m,n}+`        | possessive = atomic group around `X*` etc.   |
 * | `\A`, `\Z`                   | `(?<![\s\S])`, `(?![\s\S])`                  |
 * | `{,n}`                       | `{0,n}`                                      |
 * | `\a`                         | `\x07`                                       |
 * | `(?#comment)`                | removed                                      |
 * | leading `(?i)`, `(?s)`, `(?m)`, `(?a)`, `(?u)` | RegExp flags (`a`/`u` need none: module paths are ASCII) |
 * | `[]…]` (`]` first in a class) | `[\]…]`                                      |
 *
 * Rejected with `config-invalid`: conditionals `(?(…)…)`, scoped flags `(?i:…)`, the `x`/`L`
 * flags, `\U…`/`\N{…}`, unknown letter escapes (errors in Python too), numeric back-references in a
 * pattern that also needs atomic emulation (the emulation adds groups), and anything the JS engine
 * then fails to compile. Compiled without the `u` flag, so `\d`, `\w` and `\s` are ASCII-only where
 * Python's are Unicode-aware; module paths are ASCII identifiers and digits, so this cannot differ.
 */
import { Df11Error } from '../errors.js';

/** Letter escapes that mean the same in Python and in a non-unicode JS RegExp. */
const SHARED_LETTER_ESCAPES = new Set(['b', 'B', 'd', 'D', 'f', 'n', 'r', 's', 'S', 't', 'v', 'w', 'W', 'x', 'u']);
const QUANTIFIER_BRACES = /^\{(\d*)(,(\d*))?\}/;
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const ATOMIC_GROUP_PREFIX = '__df11_atomic';

interface OpenGroup {
  outStart: number;
  atomic: boolean;
}

/** The source of a JS RegExp equivalent to the Python pattern (not yet anchored) and its flags. */
export interface TranslatedPattern {
  source: string;
  flags: string;
}

function invalid(pattern: string, why: string): Df11Error {
  return new Df11Error('config-invalid', `pattern_dict key ${JSON.stringify(pattern)}: ${why}`);
}

/** Translates Python `re` syntax to JavaScript RegExp syntax (see the file header for the rules). */
export function translatePythonRegex(pattern: string): TranslatedPattern {
  let out = '';
  let flags = '';
  let i = 0;
  let lastAtomStart = -1;
  let atomicCount = 0;
  let numericBackref = false;
  let seenContent = false;
  const groups: OpenGroup[] = [];

  const wrapAtomic = (start: number): void => {
    const name = `${ATOMIC_GROUP_PREFIX}${atomicCount++}`;
    out = `${out.slice(0, start)}(?=(?<${name}>${out.slice(start)}))\\k<${name}>`;
  };

  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) throw invalid(pattern, 'trailing backslash');
      const start = out.length;
      if (next === 'A') out += '(?<![\\s\\S])';
      else if (next === 'Z') out += '(?![\\s\\S])';
      else if (next === 'a') out += '\\x07';
      else if (/[0-9]/.test(next)) {
        if (next !== '0') numericBackref = true;
        out += '\\' + next;
      } else if (/[A-Za-z]/.test(next) && !SHARED_LETTER_ESCAPES.has(next)) {
        throw invalid(pattern, `unsupported escape \\${next}`);
      } else out += '\\' + next;
      i += 2;
      lastAtomStart = next === 'A' || next === 'Z' || next === 'b' || next === 'B' ? -1 : start;
      seenContent = true;
      continue;
    }
    if (c === '[') {
      const start = out.length;
      let j = i + 1;
      let cls = '[';
      if (pattern[j] === '^') {
        cls += '^';
        j++;
      }
      if (pattern[j] === ']') {
        cls += '\\]';
        j++;
      }
      for (;;) {
        const d = pattern[j];
        if (d === undefined) throw invalid(pattern, 'unterminated character class');
        if (d === ']') break;
        if (d === '\\') {
          const e = pattern[j + 1];
          if (e === undefined) throw invalid(pattern, 'trailing backslash');
          if (e === 'a') cls += '\\x07';
          else if (/[A-Za-z]/.test(e) && !SHARED_LETTER_ESCAPES.has(e)) throw invalid(pattern, `unsupported escape \\${e}`);
          else cls += '\\' + e;
          j += 2;
          continue;
        }
        cls += d;
        j++;
      }
      out += cls + ']';
      i = j + 1;
      lastAtomStart = start;
      seenContent = true;
      continue;
    }
    if (c === '(') {
      const rest = pattern.slice(i);
      if (rest.startsWith('(?#')) {
        const end = pattern.indexOf(')', i);
        if (end < 0) throw invalid(pattern, 'unterminated comment group');
        i = end + 1;
        continue;
      }
      if (rest.startsWith('(?P=')) {
        const name = GROUP_NAME.exec(rest.slice(4))?.[0];
        if (name === undefined || rest[4 + name.length] !== ')') throw invalid(pattern, 'bad (?P=name) reference');
        lastAtomStart = out.length;
        out += `\\k<${name}>`;
        i += 5 + name.length;
        seenContent = true;
        continue;
      }
      const flagGroup = /^\(\?([aiLmsux]+)(\)|:)/.exec(rest);
      if (flagGroup) {
        if (flagGroup[2] === ':') throw invalid(pattern, 'scoped inline flags (?flags:...) are not supported');
        if (seenContent) throw invalid(pattern, 'global inline flags must be at the start of the pattern');
        for (const f of flagGroup[1]!) {
          if (f === 'x' || f === 'L') throw invalid(pattern, `inline flag (?${f}) is not supported`);
          if ((f === 'i' || f === 's' || f === 'm') && !flags.includes(f)) flags += f;
        }
        i += flagGroup[0].length;
        continue;
      }
      if (rest.startsWith('(?(')) throw invalid(pattern, 'conditional groups (?(...)...) are not supported');
      const atomic = rest.startsWith('(?>');
      const passThrough = /^\((?:\?(?::|=|!|<=|<!|<(?=[A-Za-z_])))?/.exec(rest)![0];
      groups.push({ outStart: out.length, atomic });
      if (atomic) {
        out += '(?:';
        i += 3;
      } else if (rest.startsWith('(?P<')) {
        out += '(?<';
        i += 4;
      } else if (rest.startsWith('(?') && passThrough === '(') {
        throw invalid(pattern, `unsupported group syntax ${rest.slice(0, 3)}`);
      } else {
        out += passThrough;
        i += passThrough.length;
      }
      lastAtomStart = -1;
      seenContent = true;
      continue;
    }
    if (c === ')') {
      const g = groups.pop();
      if (g === undefined) throw invalid(pattern, 'unbalanced parenthesis');
      out += ')';
      if (g.atomic) wrapAtomic(g.outStart);
      lastAtomStart = g.outStart;
      i += 1;
      continue;
    }
    let quantifier: string | undefined;
    if (c === '*' || c === '+' || c === '?') quantifier = c;
    else if (c === '{') {
      const m = QUANTIFIER_BRACES.exec(pattern.slice(i));
      if (m && (m[1] !== '' || m[2] !== undefined)) {
        const lo = m[1] === '' ? '0' : m[1]!;
        quantifier = m[2] === undefined ? `{${lo}}` : m[3] === '' ? `{${lo},}` : `{${lo},${m[3]}}`;
        i += m[0].length - 1; // the common `i += 1` below consumes the last character
      }
    }
    if (quantifier !== undefined) {
      if (lastAtomStart < 0) throw invalid(pattern, 'nothing to repeat');
      const atomStart = lastAtomStart;
      out += quantifier;
      i += 1;
      if (pattern[i] === '?') {
        out += '?';
        i += 1;
      } else if (pattern[i] === '+') {
        wrapAtomic(atomStart);
        i += 1;
      }
      lastAtomStart = -1;
      seenContent = true;
      continue;
    }
    lastAtomStart = c === '|' || c === '^' || c === '$' ? -1 : out.length;
    out += c;
    i += 1;
    seenContent = true;
  }
  if (groups.length > 0) throw invalid(pattern, 'missing closing parenthesis');
  if (numericBackref && atomicCount > 0) {
    throw invalid(pattern, 'numeric back-references together with atomic groups or possessive quantifiers are not supported');
  }
  return { source: out, flags };
}

/**
 * Compiles a `pattern_dict` key to a RegExp that tests a whole module path, like Python's
 * `re.fullmatch`. Throws `config-invalid` naming the pattern if it cannot be translated or compiled.
 */
export function compileFullmatch(pattern: string): RegExp {
  const { source, flags } = translatePythonRegex(pattern);
  try {
    return new RegExp(`^(?:${source})$`, flags);
  } catch (cause) {
    throw new Df11Error('config-invalid', `pattern_dict key ${JSON.stringify(pattern)} does not compile: ${(cause as Error).message}`, { cause });
  }
}
