import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The explorer page at /explorer: every file it loads is served from here,
 * from the repository (explorer/public/) or from npm packages in node_modules,
 * so it works with no network beyond the Strata server itself. The
 * Content-Security-Policy allows this origin only (fetch and the WebSocket
 * included): no inline script or style, no CDN, no framing.
 */

export const EXPLORER_PATH = '/explorer';

const HERE = dirname(fileURLToPath(import.meta.url));

export const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  readonly file: string;
  readonly type: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** URL path → file. Nothing outside this list is served: no path is ever joined from the request. */
function assets(): ReadonlyMap<string, Asset> {
  return new Map<string, Asset>([
    [EXPLORER_PATH, { file: join(HERE, 'public/index.html'), type: 'text/html; charset=utf-8' }],
    [`${EXPLORER_PATH}/explorer.js`, { file: join(HERE, 'public/explorer.js'), type: JS }],
    [`${EXPLORER_PATH}/explorer.css`, { file: join(HERE, 'public/explorer.css'), type: CSS }],
    [`${EXPLORER_PATH}/vendor/uPlot.iife.min.js`, { file: join(packageDir('uplot'), 'dist/uPlot.iife.min.js'), type: JS }],
    [`${EXPLORER_PATH}/vendor/uPlot.min.css`, { file: join(packageDir('uplot'), 'dist/uPlot.min.css'), type: CSS }],
    [`${EXPLORER_PATH}/vendor/graphql-ws.min.js`, { file: join(packageDir('graphql-ws'), 'umd/graphql-ws.min.js'), type: JS }],
  ]);
}

/** Where Node would find an installed package: the nearest node_modules/<name> up from here. */
function packageDir(name: string): string {
  for (let dir = HERE; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`The explorer needs the npm package ${name}; run npm install.`);
  }
}

let loaded: ReadonlyMap<string, { readonly body: Buffer; readonly type: string }> | undefined;

/** Read once, on the first request: the files are small and never change while the server runs. */
function files(): ReadonlyMap<string, { readonly body: Buffer; readonly type: string }> {
  loaded ??= new Map([...assets()].map(([path, asset]) => [path, { body: readFileSync(asset.file), type: asset.type }]));
  return loaded;
}

export function isExplorerPath(path: string): boolean {
  return path === EXPLORER_PATH || path.startsWith(`${EXPLORER_PATH}/`);
}

export function serveExplorer(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  res.setHeader('Content-Security-Policy', EXPLORER_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', Buffer.from('The explorer is read with GET.\n'), req.method);
    return;
  }
  const file = files().get(path === `${EXPLORER_PATH}/` ? EXPLORER_PATH : path);
  if (!file) {
    send(res, 404, 'text/plain; charset=utf-8', Buffer.from(`No explorer file ${path}; open ${EXPLORER_PATH}.\n`), req.method);
    return;
  }
  res.setHeader('Cache-Control', 'no-cache');
  send(res, 200, file.type, file.body, req.method);
}

function send(res: ServerResponse, status: number, type: string, body: Buffer, method: string | undefined): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', body.length);
  res.end(method === 'HEAD' ? undefined : body);
}
