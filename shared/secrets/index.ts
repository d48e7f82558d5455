export { createSecretStore, isLoopbackUrl, toSecretStoreError } from './secret-store';
export type {
  DeletedSecretReference,
  GetSecretOptions,
  ListSecretsOptions,
  SecretEntry,
  SecretReference,
  SecretStore,
  SecretStoreOptions,
  SecretSummary,
  SetSecretOptions,
  UpdateSecretPropertiesOptions,
} from './secret-store';
export { assertValidSecretName, isValidSecretName, secretNameComponent, secretNames } from './secret-names';
export {
  InvalidSecretNameError,
  SecretAccessDeniedError,
  SecretDisabledError,
  SecretNameConflictError,
  SecretNotFoundError,
  SecretStoreError,
  SecretStoreUnavailableError,
} from './errors';
export type { SecretStoreErrorCode, SecretStoreErrorDetails } from './errors';
