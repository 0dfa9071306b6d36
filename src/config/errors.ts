/** A config problem, named by its key: `config error: KEY: problem`. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, problem: string) {
    super(`config error: ${key}: ${problem}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}
