/**
 * A usage or configuration error (exit code 2): its own module, so that a command which only needs
 * to throw one does not load the configuration loader and its YAML and schema libraries.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
