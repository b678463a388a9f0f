import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { duplicateKeys } from '../../auth/duplicate-keys.ts';

const SEED = Number(process.env['STRATA_SECURITY_SEED'] ?? 20261120);

test('a key repeated in one object is found, at any depth, in text order', () => {
  assert.deepEqual(duplicateKeys('{"a":1,"a":2}'), ['a']);
  assert.deepEqual(duplicateKeys('{"a":1,"a":2,"a":3}'), ['a', 'a']);
  assert.deepEqual(duplicateKeys('{"a":{"b":1,"b":2},"a":3}'), ['b', 'a']);
  assert.deepEqual(duplicateKeys('[1,{"x":[{"k":1,"k":2}]}]'), ['k']);
  assert.deepEqual(duplicateKeys('{"":1,"":2}'), ['']);
  assert.deepEqual(duplicateKeys('{"__proto__":1,"__proto__":2}'), ['__proto__']);
  assert.deepEqual(duplicateKeys(' {\n "a" : 1 ,\t"a" : 2 } '), ['a']);
});

test('keys compare as JSON.parse decodes them: escapes of one key repeat it, distinct keys stay distinct', () => {
  assert.deepEqual(duplicateKeys('{"role":1,"r\\u006fle":2}'), ['role']);
  assert.deepEqual(duplicateKeys('{"\\u0061":1,"\\u0061":2}'), ['a']);
  assert.deepEqual(duplicateKeys('{"\\ud83d\\ude00":1,"😀":2}'), ['😀']);
  assert.deepEqual(duplicateKeys('{"\\uD800":1,"\\ud800":2}'), ['\ud800']);
  assert.deepEqual(duplicateKeys('{"\\"":1,"\\u0022":2}'), ['"']);
  assert.deepEqual(duplicateKeys('{"\\/":1,"/":2}'), ['/']);
  assert.deepEqual(duplicateKeys('{"x\\\\u0061":1,"xa":2}'), [], 'an escaped backslash, then "u0061"');
  assert.deepEqual(duplicateKeys('{"\\u00e9":1,"e\\u0301":2}'), [], 'no Unicode normalization, as in JSON.parse');
  assert.deepEqual(duplicateKeys('{"A":1,"a":2}'), []);
});

test('equal keys in different objects, and strings that are values, are not repeats', () => {
  assert.deepEqual(duplicateKeys('{"a":{"a":{"a":1}}}'), []);
  assert.deepEqual(duplicateKeys('[{"a":1},{"a":1}]'), []);
  assert.deepEqual(duplicateKeys('{"x":{"k":1},"y":{"k":2},"k":3}'), []);
  assert.deepEqual(duplicateKeys('{"a":"a","b":"a","c":["a","a"]}'), []);
  // Brackets, commas, colons and quotes inside strings are text, not structure.
  assert.deepEqual(duplicateKeys('{"a":"{\\"a\\":1,\\"a\\":2}","b":"\\\\","c":"[,:"}'), []);
  assert.deepEqual(duplicateKeys('{"a":"\\",\\"a\\":","b":0}'), []);
  assert.deepEqual(duplicateKeys('"a"'), []);
  assert.deepEqual(duplicateKeys('[]'), []);
  assert.deepEqual(duplicateKeys('{}'), []);
});

test('no recursion: 20,000 levels of nesting are scanned, and a repeat at the bottom found', () => {
  const deep = (inner: string): string => '{"a":['.repeat(20_000) + inner + ']}'.repeat(20_000);
  assert.deepEqual(duplicateKeys(deep('1')), []);
  assert.deepEqual(duplicateKeys(deep('{"z":1,"z":2}')), ['z']);
});

test('text that is not JSON ends, with a SyntaxError for a string left open or a bad escape', () => {
  assert.throws(() => duplicateKeys('{"a'), SyntaxError);
  assert.throws(() => duplicateKeys('{"a\\"'), SyntaxError);
  assert.throws(() => duplicateKeys('{"\\x":1}'), SyntaxError);
  assert.deepEqual(duplicateKeys('}}]]{{[['), []);
  assert.deepEqual(duplicateKeys(''), []);
});

/** A JSON value whose objects are lists of members, so that a key may repeat. */
type Node = { readonly members: readonly (readonly [string, Node])[] } | { readonly items: readonly Node[] } | { readonly leaf: string };

/** Few keys, so that repeats are common; each has characters that can be written several ways. */
const KEYS = ['a', 'role', 'tenant_id', '', '"', '\\', '/', '\u00e9', 'e\u0301', '\ud83d\ude00', '\ud800', 'x\\u0061', 'xa', '\n'];
const LEAVES = ['0', '-1.5e3', 'null', 'true', '"a"', '"{\\"a\\":1,\\"a\\":2}"', '"[,:"', '"\\\\"', '""'];

const nodeArb = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 6, withCrossShrink: true },
    fc.constantFrom(...LEAVES).map((leaf) => ({ leaf })),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('node')), { maxLength: 5 }).map((members) => ({ members })),
    fc.array(tie('node'), { maxLength: 4 }).map((items) => ({ items })),
  ),
})).node;

const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\n': '\\n', '\t': '\\t' };

/** A key with each character written raw, as \uxxxx, as \uXXXX or as its short escape (\" \\ \/ \n), as `choices` picks. */
function writeKey(key: string, choices: readonly number[], start: number): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const ch = key[i] ?? '';
    const hex = key.charCodeAt(i).toString(16).padStart(4, '0');
    const choice = choices[(start + i) % choices.length];
    if (choice === 1) out += `\\u${hex}`;
    else if (choice === 2) out += `\\u${hex.toUpperCase()}`;
    else if (choice === 3 && SHORT[ch]) out += SHORT[ch];
    else out += JSON.stringify(ch).slice(1, -1); // raw, unless JSON needs an escape
  }
  return `"${out}"`;
}

/** The text of a node, and (in text order) the repeats a correct checker must report. */
function write(node: Node, choices: readonly number[], repeats: string[], space: string): string {
  if ('leaf' in node) return node.leaf;
  if ('items' in node) return `[${node.items.map((item) => write(item, choices, repeats, space)).join(`,${space}`)}]`;
  const seen = new Set<string>();
  const members = node.members.map(([key, value], i) => {
    if (seen.has(key)) repeats.push(key);
    seen.add(key);
    return `${writeKey(key, choices, i)}${space}:${write(value, choices, repeats, space)}`;
  });
  return `{${space}${members.join(`,${space}`)}}`;
}

test("differential: on random JSON with repeats and every way of writing a key, the repeats found are the model's", () => {
  const caseArb = fc.record({
    node: nodeArb,
    choices: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
    space: fc.constantFrom('', ' ', '\n\t '),
  });
  fc.assert(
    fc.property(caseArb, ({ node, choices, space }) => {
      const expected: string[] = [];
      const text = write(node, choices, expected, space);
      JSON.parse(text); // the generator writes valid JSON only
      assert.deepEqual(duplicateKeys(text), expected, text);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test('differential: JSON.stringify never writes a repeat, and none is reported', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      assert.deepEqual(duplicateKeys(JSON.stringify(value)), []);
    }),
    { seed: SEED, numRuns: 1000 },
  );
});
