/**
 * node --import tsx bench/profile-summary.ts FILE.cpuprofile [N]
 * Prints the functions with the most self time (and totals per package), to
 * read a `npm run bench -- --cpu-prof` profile without a browser.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

const profile = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as { nodes: ProfileNode[] };
const top = Number(process.argv[3] ?? 30);
const total = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/work\/main\//, '');
  const where = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
  byFunction.set(where, (byFunction.get(where) ?? 0) + (node.hitCount ?? 0));
  const pkg =
    /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ??
    (file.startsWith('node:') || !file ? `(${file || functionName})` : folderOf(file));
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + (node.hitCount ?? 0));
}
/** A source folder of this repository; under dist/ (the compiled service), the folder below it. */
function folderOf(file: string): string {
  const parts = file.split('/');
  return (parts[0] === 'dist' ? parts.slice(0, 2).join('/') : parts[0]) ?? file;
}

const show = (map: Map<string, number>, n: number): void => {
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
};
console.log(`${total} samples; by package or folder:`);
show(byPackage, 15);
console.log('\nby function (self time):');
show(byFunction, top);
