/**
 * The keys that some object in a JSON text has more than once.
 *
 * JSON.parse keeps the last of two equal keys and other parsers keep the
 * first (or refuse), so a token saying both "role":"customer" and
 * "role":"internal" means different things to different readers: a parser
 * differential. Tokens with a repeated key are refused (RFC 7519 §4 allows it).
 */

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * Every repeat of a key within one object, at any depth, in the order met
 * (a key three times is listed twice); [] when there is none. Equal keys in
 * different objects are not repeats. Keys compare as JSON.parse decodes them,
 * so "r\u006fle" repeats "role" but "x\\u0061" does not repeat "xa".
 *
 * One pass, no recursion: a stack holds one entry per open bracket (the keys
 * of an object so far, or null for an array). Time and memory are linear in
 * the text. Give it text JSON.parse accepts: other text still ends in linear
 * time, with a SyntaxError or an answer that means nothing.
 */
export function duplicateKeys(json: string): string[] {
  const open: (Set<string> | null)[] = [];
  const repeats: string[] = [];
  let keyNext = false; // true right after "{" or an object's ",": the next string is a key
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(json, i);
      const keys = open[open.length - 1];
      if (keyNext && keys) {
        // Escapes decoded by JSON.parse itself, so "r\u006fle" is "role" to both.
        const raw = json.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (keys.has(key)) repeats.push(key);
        else keys.add(key);
      }
      keyNext = false;
      i = end;
    } else if (c === OPEN_OBJECT) {
      open.push(new Set());
      keyNext = true;
    } else if (c === OPEN_ARRAY) {
      open.push(null);
      keyNext = false;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
      keyNext = false;
    } else if (c === COMMA) {
      keyNext = Boolean(open[open.length - 1]);
    }
  }
  return repeats;
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(json: string, start: number): number {
  for (let i = start + 1; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === BACKSLASH)
      i++; // the escaped character, a quote included, cannot close the string
    else if (c === QUOTE) return i;
  }
  throw new SyntaxError(`the string at ${start} is not closed`);
}
