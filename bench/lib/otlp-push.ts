import { Agent, request } from 'node:http';
import { OTLP } from '../../api/otlp/otlp-schema.ts';
import { sleep } from './stats.ts';

/** One request to send, and how many points it holds. */
export interface PushBody {
  readonly body: Buffer;
  readonly points: number;
}

export interface PushResult {
  /** Points in requests answered 200 with no point rejected. */
  readonly accepted: number;
  readonly requests: number;
  /** 429 and 503 answers, each retried after its Retry-After. */
  readonly retried: number;
  readonly seconds: number;
  /** Every request's time from sending to its 200, in ms (retries included). */
  readonly latencies: readonly number[];
}

/** An answer of the receiver: status, Retry-After (s), and the points its partial_success rejected. */
interface Answer {
  readonly status: number;
  readonly retryAfterS: number;
  readonly rejected: number;
  readonly message: string;
}

/**
 * Sends bodies to POST /v1/metrics from `senders` concurrent senders over
 * keep-alive connections, as an OTel collector's exporter does. Sender k
 * sends only what `next(k)` hands it, one request at a time, so the order of
 * one shard's requests (its series' time order) is kept. Any answer other
 * than 200 with nothing rejected, 429 or 503 stops the push with its reason.
 */
export async function push(
  url: string,
  token: string,
  senders: number,
  next: (sender: number) => PushBody | undefined,
): Promise<PushResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: senders });
  const target = new URL('/v1/metrics', url);
  const latencies: number[] = [];
  let accepted = 0;
  let retried = 0;
  const started = performance.now();
  const sender = async (k: number): Promise<void> => {
    for (let item = next(k); item; item = next(k)) {
      const sent = performance.now();
      for (;;) {
        const answer = await send(agent, target, token, item.body);
        if (answer.status === 200 && answer.rejected === 0) break;
        if (answer.status !== 429 && answer.status !== 503)
          throw new Error(`POST /v1/metrics answered ${answer.status}, ${answer.rejected} points rejected: ${answer.message}`);
        retried += 1;
        await sleep(1000 * answer.retryAfterS);
      }
      latencies.push(performance.now() - sent);
      accepted += item.points;
    }
  };
  try {
    await Promise.all(Array.from({ length: senders }, (_, k) => sender(k)));
  } finally {
    agent.destroy();
  }
  return { accepted, requests: latencies.length, retried, seconds: (performance.now() - started) / 1000, latencies };
}

/** One POST, its answer decoded (ExportMetricsServiceResponse on 200, google.rpc.Status otherwise). */
export function send(agent: Agent, target: URL, token: string, body: Buffer): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length, authorization: `Bearer ${token}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          try {
            resolve(answerOf(res.statusCode ?? 0, Number(res.headers['retry-after'] ?? 1), Buffer.concat(chunks)));
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function answerOf(status: number, retryAfterS: number, bytes: Buffer): Answer {
  if (status !== 200) {
    const s = OTLP.status.toObject(OTLP.status.decode(bytes)) as { message?: string };
    return { status, retryAfterS: Number.isFinite(retryAfterS) ? retryAfterS : 1, rejected: 0, message: s.message ?? '' };
  }
  const r = OTLP.response.toObject(OTLP.response.decode(bytes), { longs: Number }) as {
    partialSuccess?: { rejectedDataPoints?: number; errorMessage?: string };
  };
  return { status, retryAfterS: 0, rejected: r.partialSuccess?.rejectedDataPoints ?? 0, message: r.partialSuccess?.errorMessage ?? '' };
}
