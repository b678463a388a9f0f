/** A configuration problem: its message names the variable and the fix, and is all the operator sees (api/main.ts). */
export class ConfigError extends Error {}
