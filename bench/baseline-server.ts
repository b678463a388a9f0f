/**
 * The baseline of scenario 1: a bare node:http server that reads the request
 * body and answers with fixed bytes (Strata's own response to the same
 * request, captured just before), with the same content type. It measures
 * what this machine, Node and the load generator can do at all.
 *   node --import tsx bench/baseline-server.ts RESPONSE_FILE
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const body = readFileSync(process.argv[2] ?? '');
const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', body.length);
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});
// Stops by itself when the bench that started it goes away.
process.on('disconnect', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume();
process.once('SIGTERM', () => process.exit(0));
