import { metricStoreContract } from './contracts/metric-store-contract.ts';
import { seededStore } from './helpers/fixture.ts';

metricStoreContract('duckdb', () => seededStore());
