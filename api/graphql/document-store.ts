import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import type { DocumentNode } from 'graphql';

/**
 * Heap bytes per character of a document's source, measured: a 12-panel
 * dashboard of 5,269 characters parses into 287 KB (its tokens stay linked
 * from every node's location, and error locations need them).
 */
const HEAP_BYTES_PER_SOURCE_CHAR = 56;

/**
 * For a document without a source (built without locations): heap bytes per
 * byte of its JSON. The same dashboard without locations is 44 KB of JSON and
 * 106 KB of heap; with them, 76 KB and 287 KB.
 */
const HEAP_BYTES_PER_JSON_CHAR = 4;

/**
 * Apollo's store of parsed and validated documents, bounded by their heap.
 * Apollo's own default bounds the documents' JSON at 30 MiB, which for
 * dashboard-sized documents is about 115 MB of heap: more than the whole
 * heap of a 256 MB deployment. A document evicted is parsed and validated
 * again on its next execution (about 1 ms for a dashboard), and a repeated
 * operation is mostly answered by the response cache without reaching Apollo.
 */
export function documentStore(maxBytes: number): InMemoryLRUCache<DocumentNode> {
  return new InMemoryLRUCache<DocumentNode>({ maxSize: Math.max(1, maxBytes), sizeCalculation: heapEstimate });
}

export function heapEstimate(document: DocumentNode): number {
  const source = document.loc?.source.body.length;
  const bytes = source !== undefined ? source * HEAP_BYTES_PER_SOURCE_CHAR : JSON.stringify(document).length * HEAP_BYTES_PER_JSON_CHAR;
  return Math.max(1, Math.ceil(bytes));
}
