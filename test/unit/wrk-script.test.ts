import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { luaString, parseWrkOutput, wrkScript } from '../../bench/lib/wrk.ts';

/** Reads a Lua string literal made of printable ASCII and decimal escapes back into text. */
function unLua(literal: string): string {
  assert.match(literal, /^"[^"\\]*(?:\\\d{3}[^"\\]*)*"$/);
  const bytes: number[] = [];
  const body = literal.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\') bytes.push(Number(body.slice(i + 1, (i += 3) + 1)));
    else bytes.push(body.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('bench: the wrk script (scenario 6)', () => {
  it('writes any text as a Lua literal of printable ASCII and decimal escapes', () => {
    const text = '{"query":"{ a(b: \\"c\\") }\\n"}\n\t\u00e9\u2028\u0000 end';
    const literal = luaString(text);
    assert.equal(unLua(literal), text);
    assert.ok(!/[^\x20-\x7e]/.test(literal));
  });

  it('sends the one request body with its headers', () => {
    const script = wrkScript({
      url: 'http://127.0.0.1:1/graphql',
      connections: 10,
      durationS: 1,
      seed: 1,
      requests: [{ body: '{"q":"x"}', headers: { authorization: 'Bearer t' }, weight: 1 }],
    });
    assert.match(script, /^wrk\.method = "POST"$/m);
    assert.match(script, new RegExp(`^wrk\\.body = ${luaString('{"q":"x"}').replace(/[\\$^.*+?()[\]{}|]/g, '\\$&')}$`, 'm'));
    assert.match(script, /^wrk\.headers\["authorization"\] = "Bearer t"$/m);
  });

  it('refuses a weighted mix, which it cannot send', () => {
    const r = { body: '{}', headers: {}, weight: 1 };
    assert.throws(
      () => wrkScript({ url: 'http://127.0.0.1:1/', connections: 1, durationS: 1, seed: 1, requests: [r, r] }),
      /wrk sends one request body; this spec has 2/,
    );
  });

  it("reads the done line among wrk's own report, microseconds into ms", () => {
    const out =
      'Running 8s test @ http://127.0.0.1:1/graphql\n  1 threads and 10 connections\nRequests/sec: 1000\n' +
      'STRATA_WRK {"requests":8000,"us":8000000,"p50":6215,"p90":9000,"p99":15020,"max":40000,"status":2,"errors":1,"timeouts":0}\n';
    assert.deepEqual(parseWrkOutput(out), {
      requests: 8000,
      rps: 1000,
      p50: 6.22,
      p90: 9,
      p99: 15.02,
      max: 40,
      non2xx: 2,
      errors: 1,
      timeouts: 0,
    });
    assert.throws(() => parseWrkOutput('Requests/sec: 1\n'), /wrk printed no STRATA_WRK line/);
  });
});
