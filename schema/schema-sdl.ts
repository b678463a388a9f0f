import { readFileSync } from 'node:fs';

/** The published GraphQL contract (schema.graphql beside this file), read once. */
export const SCHEMA_SDL = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');
