import { ConfigError } from '../config/config.ts';

/**
 * A configuration problem found while the modules load (the catalog reads the
 * metric registry when it is first imported) is the operator's to fix: it is
 * printed as its message alone, as loadConfig's are, not as a crash with a
 * stack and the error's fields. main.ts imports this module first and calls
 * `importsLoaded` once every module has loaded, so the process keeps Node's
 * own handling of uncaught errors while it serves.
 */
const onImportError = (error: unknown): void => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
};
process.on('uncaughtException', onImportError);

export const importsLoaded = (): void => {
  process.off('uncaughtException', onImportError);
};
