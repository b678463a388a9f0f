import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, StrataError, isStrataError } from '../errors/strata-error.ts';
import { answerStoreCall, ipcStore, serveStore } from '../store/ipc/ipc-store.ts';
import type { MetricStore } from '../store/metric-store.ts';
import { metricStoreContract } from './contracts/metric-store-contract.ts';
import { channelPair } from './helpers/channel-pair.ts';
import { seededStore } from './helpers/fixture.ts';

/**
 * The store a cluster worker uses in the embedded mode, over an in-process
 * channel pair (structured clone, as node:cluster's advanced serialization)
 * to a DuckDB store served as the primary serves it.
 */
metricStoreContract('ipc', async () => {
  const owner = await seededStore();
  const [primary, worker] = channelPair();
  serveStore(owner, primary);
  // The worker's close releases nothing of the owner's; here the owner belongs to the binding.
  return { ...ipcStore(worker), close: () => owner.close() };
});

/** An owner whose calls the test controls. */
function scriptedOwner(queryPieces: MetricStore['queryPieces']): MetricStore {
  const none = async (): Promise<never> => {
    throw new Error('not scripted');
  };
  return {
    name: 'scripted',
    queryPieces,
    listResources: none,
    usage: none,
    readWatermarks: none,
    rawDataRange: none,
    buildRollup: none,
    ping: async () => undefined,
    close: async () => undefined,
  };
}

test('ipc: the owner’s errors arrive with their code; anything else as INTERNAL', async () => {
  let fail: Error = new StrataError(ErrorCode.QUERY_TOO_COMPLEX, 'too big');
  const [primary, worker] = channelPair();
  serveStore(
    scriptedOwner(async () => {
      throw fail;
    }),
    primary,
  );
  const store = ipcStore(worker);
  const ask = () => store.queryPieces({ pieces: [], lane: 'customer' });
  await assert.rejects(ask, (e: unknown) => isStrataError(e) && e.code === ErrorCode.QUERY_TOO_COMPLEX && e.message === 'too big');
  fail = new TypeError('a bug');
  await assert.rejects(ask, (e: unknown) => isStrataError(e) && e.code === ErrorCode.INTERNAL);
});

test('ipc: a call naming no store method is refused, not run', async () => {
  const owner = scriptedOwner(async () => new Map());
  let closed = false;
  owner.close = async () => {
    closed = true;
  };
  const reply = await answerStoreCall(owner, { t: 'store', id: 7, method: 'close' as 'ping', args: [] });
  assert.equal(reply.id, 7);
  assert.equal(reply.error?.code, ErrorCode.INTERNAL);
  assert.equal(closed, false);
});

test('ipc: an abort while the owner works stops the wait at once; the late reply is dropped', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let calls = 0;
  const [primary, worker] = channelPair();
  serveStore(
    scriptedOwner(async () => {
      calls += 1;
      const answer = `call ${calls}`;
      await gate;
      return new Map([[answer, []]]);
    }),
    primary,
  );
  const store = ipcStore(worker);
  const controller = new AbortController();
  const call = store.queryPieces({ pieces: [], lane: 'customer', signal: controller.signal });
  await new Promise((r) => setTimeout(r, 20));
  controller.abort();
  await assert.rejects(call, (e: unknown) => isStrataError(e) && e.code === ErrorCode.UPSTREAM_TIMEOUT);
  release();
  // The next call gets its own answer, not the one the aborted call left behind.
  assert.deepEqual(await store.queryPieces({ pieces: [], lane: 'customer' }), new Map([['call 2', []]]));
});

test("ipc: a caller's abort reaches the owner: the owner's store query is cancelled too", async () => {
  const [primary, worker] = channelPair();
  let ownerSignal: AbortSignal | undefined;
  serveStore(
    scriptedOwner(
      (request) =>
        new Promise((_, reject) => {
          ownerSignal = request.signal;
          request.signal?.addEventListener('abort', () => reject(new StrataError(ErrorCode.UPSTREAM_TIMEOUT, 'cancelled')), { once: true });
        }),
    ),
    primary,
  );
  const controller = new AbortController();
  const call = ipcStore(worker).queryPieces({ pieces: [], lane: 'customer', signal: controller.signal });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ownerSignal?.aborted, false, 'the owner runs the query with a signal of its own');
  controller.abort();
  await assert.rejects(call, (e: unknown) => isStrataError(e) && e.code === ErrorCode.UPSTREAM_TIMEOUT);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ownerSignal?.aborted, true, 'the cancel crossed the channel');
});

test('ipc: concurrent calls are matched to their own replies', async () => {
  const [primary, worker] = channelPair();
  serveStore(
    scriptedOwner(async (r) => {
      const key = r.lane;
      await new Promise((done) => setTimeout(done, key === 'customer' ? 30 : 1));
      return new Map([[key, []]]);
    }),
    primary,
  );
  const store = ipcStore(worker);
  const [slow, fast] = await Promise.all([
    store.queryPieces({ pieces: [], lane: 'customer' }),
    store.queryPieces({ pieces: [], lane: 'billing' }),
  ]);
  assert.deepEqual([...slow.keys(), ...fast.keys()], ['customer', 'billing']);
});
