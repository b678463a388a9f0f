import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { Config } from '../../config/config.ts';
import type { RequestContext } from '../../resolvers/context.ts';
import { resolvers } from '../../resolvers/resolvers.ts';
import { SCHEMA_SDL } from '../../schema/schema-sdl.ts';
import type { Logger } from '../../observability/logger.ts';
import { documentStore } from './document-store.ts';
import { maskError } from './graphql-errors.ts';
import { observabilityPlugin } from './observability-plugin.ts';

/** Tokens in one document: a dashboard of 24 panels with every field is about 1,200. */
const MAX_TOKENS = 2000;

/**
 * Apollo Server with Strata's limits: depth, aliases, cost and directives
 * (graphql-armor), tokens (graphql-js' parser), no batching, no persisted
 * queries, CSRF prevention, introspection and suggestions off in production,
 * and every error masked at the edge.
 */
export function createApollo(config: Config, log: Logger): ApolloServer<RequestContext> {
  const { limits } = config;
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxQueryDepth },
    maxAliases: { n: limits.maxAliases },
    costLimit: { maxCost: limits.maxCost },
    // Tokens are limited by graphql-js' own parser (parseOptions below): Armor's limit fires
    // in a hook Apollo answers with a 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: 10 },
    blockFieldSuggestion: { enabled: config.env === 'production' },
  }).protect();
  return new ApolloServer<RequestContext>({
    typeDefs: SCHEMA_SDL,
    resolvers,
    introspection: config.env !== 'production',
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // Automatic persisted queries would be one cache shared by every tenant: a hash probe could
    // tell whether another tenant sent a document. Strata offers no persisted queries.
    persistedQueries: false,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (api/main.ts): Apollo's own SIGTERM handler stops it, then re-raises the
    // signal, which killed the process before the drain, the consumer's commit and the store's close.
    stopOnTerminationSignals: false,
    // graphql-armor ships CommonJS typings of Apollo's types; the objects are the same at run time.
    plugins: [
      ...(armor.plugins as unknown as ApolloServerPlugin<RequestContext>[]),
      observabilityPlugin(config.metricsOperations),
      // Apollo's cache-control plugin hooks every field resolution (thousands per timeseries answer)
      // to compute HTTP cache hints Strata never sends: its own response cache keys on the token.
      ApolloServerPluginCacheControlDisabled(),
    ],
    parseOptions: { maxTokens: MAX_TOKENS },
    documentStore: documentStore(config.documentCacheBytes),
    validationRules: [...armor.validationRules],
    formatError: (formatted, error) => maskError(formatted, error, log.write),
  });
}
