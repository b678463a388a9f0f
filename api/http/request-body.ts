import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { ErrorCode, StrataError } from '../../errors/strata-error.ts';

const DECODERS: Record<string, () => Transform> = { gzip: createGunzip, deflate: createInflate, br: createBrotliDecompress };

/**
 * Reads a request body up to `limit` bytes, within `timeoutMs`. Compressed
 * bodies (gzip, deflate, br) are accepted, and the limit applies to the
 * decompressed size as it streams, so a small bomb that inflates to gigabytes
 * is refused after `limit` bytes of output, never buffered. Nothing is parsed
 * before the whole body is within the limit. A body that trickles in is
 * refused at the deadline (408), so a slow client holds its socket only that
 * long, and never an execution slot (taken after the body: api/http-server.ts).
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  return readBodyBytes(req, limit, timeoutMs).then((bytes) => bytes.toString('utf8'));
}

/** The same, as bytes (for binary bodies: OTLP's protobuf). */
export function readBodyBytes(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(tooLarge(`${declared} bytes`, limit));
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && !DECODERS[encoding]) {
    return Promise.reject(
      new StrataError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `Content-Encoding "${encoding}" is not supported; send identity, gzip, deflate or br.`,
      ),
    );
  }
  const decoder = encoding === 'identity' ? undefined : DECODERS[encoding]!();
  const source = decoder ? req.pipe(decoder) : req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => fail(tooSlow(timeoutMs, size)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      req.unpipe();
      decoder?.destroy();
      req.resume(); // drain what the client still sends, so it can read our 413
      reject(error);
    };
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(tooLarge(decoder ? `over ${limit} bytes once decompressed` : `${size} bytes`, limit));
      chunks.push(chunk);
    });
    source.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    source.on('error', (error: Error) =>
      fail(decoder ? new StrataError(ErrorCode.BAD_REQUEST, `The ${encoding} body could not be decompressed: ${error.message}.`) : error),
    );
    if (decoder) req.on('error', (error: Error) => fail(error));
  });
}

const tooLarge = (size: string, limit: number): StrataError =>
  new StrataError(ErrorCode.PAYLOAD_TOO_LARGE, `The request body has ${size}, over the limit of ${limit} bytes. Send a smaller document.`);

const tooSlow = (timeoutMs: number, size: number): StrataError =>
  new StrataError(
    ErrorCode.REQUEST_TIMEOUT,
    `The request body did not arrive within ${timeoutMs} ms (${size} bytes came). Send the whole body at once.`,
    { timeoutMs },
  );
