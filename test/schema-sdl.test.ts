import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSchema, isEnumType, isObjectType, type GraphQLSchema } from 'graphql';
import { METRICS } from '../catalog/catalog.ts';
import { GRANULARITY_NAMES } from '../planner/granularity.ts';
import { resolvers } from '../resolvers/resolvers.ts';
import { SCHEMA_SDL } from '../schema/schema-sdl.ts';

/**
 * schema/schema.graphql is the published contract, and the server builds from
 * it; what can drift is the code on either side of it. These checks fail when
 * the SDL and the domain disagree: a root field without a resolver (or the
 * reverse), a resolver map for a type or field the SDL does not have, or an
 * enum that no longer lists what the domain accepts.
 */
const schema: GraphQLSchema = buildSchema(SCHEMA_SDL);

const enumValues = (name: string): string[] => {
  const type = schema.getType(name);
  assert.ok(isEnumType(type), `${name} is an enum of the SDL`);
  return type.getValues().map((v) => v.name);
};

test('every root field has a resolver and every resolver a field of the SDL', () => {
  for (const root of ['Query', 'Subscription'] as const) {
    const type = schema.getType(root);
    assert.ok(isObjectType(type));
    assert.deepEqual(Object.keys(resolvers[root]).sort(), Object.keys(type.getFields()).sort(), `${root} fields vs resolvers`);
  }
});

test('every resolver map names a type of the SDL and fields it has (a renamed field would silently resolve to nothing)', () => {
  for (const [typeName, map] of Object.entries(resolvers)) {
    if (typeName === 'Query' || typeName === 'Subscription') continue;
    const type = schema.getType(typeName);
    assert.ok(type, `${typeName} is a type of the SDL`);
    if (!isObjectType(type)) continue; // scalars (BigInt) carry their own serializers
    for (const field of Object.keys(map)) assert.ok(type.getFields()[field], `${typeName}.${field} is a field of the SDL`);
  }
});

test('the SDL enums list exactly what the domain accepts', () => {
  assert.deepEqual(enumValues('Granularity'), [...GRANULARITY_NAMES]);
  for (const metric of METRICS) {
    assert.ok(enumValues('MetricKind').includes(metric.kind), `${metric.name}: kind ${metric.kind}`);
    assert.ok(enumValues('Aggregation').includes(metric.defaultAggregation), `${metric.name}: ${metric.defaultAggregation}`);
  }
});
