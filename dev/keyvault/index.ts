export { startKeyVaultServer } from './keyvault-server';
export type { KeyVaultRequestEvent, KeyVaultServerOptions, RunningKeyVaultServer } from './keyvault-server';
export { KeyVaultServiceError } from './secret-vault';
