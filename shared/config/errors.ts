/** Raised once at start when settings are missing or malformed; names every setting at fault. */
export class ConfigurationError extends Error {
  readonly code = 'ConfigurationInvalid';
  constructor(readonly problems: readonly { setting: string; message: string }[]) {
    super(
      `The app cannot start: ${problems.length} setting(s) are missing or invalid:\n` +
        problems.map((p) => `  - ${p.setting}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigurationError';
  }
}
