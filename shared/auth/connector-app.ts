/**
 * The product's own multi-tenant Entra app (CONNECTOR_APP_CLIENT_ID): used for admin consent,
 * per-user sign-in (auth code + PKCE) and silent refresh of delegated tokens. Its client secret
 * lives in Key Vault (connector-app-client-secret) and is re-read after a few minutes or when
 * Entra rejects it, so a secret rotated in Key Vault (new secret added while the old still works)
 * is picked up without a restart and without failing a sync.
 */
import { boundedNetworkClient } from './bounded-network-client';
import type { ConfidentialClientApplication, Configuration, ICachePlugin, INetworkModule } from '@azure/msal-node';

// MSAL is required when the first application is made, not at start-up (cold start).
const msal = (): typeof import('@azure/msal-node') => require('@azure/msal-node') as typeof import('@azure/msal-node');
import type { SecretString } from '../logging/secret-string';
import type { SecretEntry, SecretStore } from '../secrets/secret-store';
import { secretNames } from '../secrets/secret-names';
import { EntraAuthError } from './entra-errors';

export const EWS_DELEGATED_SCOPE = 'https://outlook.office365.com/EWS.AccessAsUser.All';
const GLOBAL_EWS_RESOURCE = 'https://outlook.office365.com';

export interface ConnectorAppOptions {
  readonly clientId: string;
  /** https://login.microsoftonline.com, or the local identity provider. */
  readonly authorityHost: string;
  /** Exchange Online's token resource in the deployment's cloud (config.ews.resource). Default the global cloud's. */
  readonly ewsResource?: string;
  readonly vault: Pick<SecretStore, 'getSecretEntry'>;
  /** How long a secret read from Key Vault is reused. Default 5 minutes. */
  readonly secretCacheTimeInMs?: number;
  readonly networkClient?: INetworkModule;
  readonly now?: () => number;
}

export interface ConnectorAppSecretFacts {
  readonly version: string;
  readonly expiresOn?: Date;
}

/** Builds MSAL applications for the connector app with its current secret. */
export class ConnectorApp {
  readonly clientId: string;
  readonly authorityHost: string;
  /** Exchange Online's token resource (https://outlook.office365.com in the global cloud). */
  readonly ewsResource: string;
  /** The delegated EWS scope users consent to: `${ewsResource}/EWS.AccessAsUser.All`. */
  readonly ewsDelegatedScope: string;
  readonly #options: ConnectorAppOptions;
  #secret: { entry: SecretEntry; readAt: number } | undefined;

  constructor(options: ConnectorAppOptions) {
    const host = new URL(options.authorityHost);
    if (host.protocol !== 'https:') throw new EntraAuthError('EntraError', 'The authority host must use https (MSAL refuses other schemes).');
    this.clientId = options.clientId;
    this.authorityHost = `${host.origin}${host.pathname.replace(/\/+$/, '')}`;
    this.ewsResource = (options.ewsResource ?? GLOBAL_EWS_RESOURCE).replace(/\/+$/, '');
    this.ewsDelegatedScope = `${this.ewsResource}/EWS.AccessAsUser.All`;
    this.#options = options;
  }

  /** `${authorityHost}/${tenant}`: a tenant id, or 'organizations' when the tenant is not known yet. */
  authority(tenant: string | undefined): string {
    const segment = tenant && /^[0-9a-z.-]+$/i.test(tenant) ? tenant : 'organizations';
    return `${this.authorityHost}/${segment}`;
  }

  /** The client secret from Key Vault (cached briefly). */
  async clientSecret(options: { readonly reload?: boolean } = {}): Promise<SecretString> {
    return (await this.secretEntry(options)).value;
  }

  async secretFacts(): Promise<ConnectorAppSecretFacts> {
    const { reference } = await this.secretEntry({});
    return { version: reference.version, ...(reference.expiresOn ? { expiresOn: reference.expiresOn } : {}) };
  }

  private async secretEntry(options: { readonly reload?: boolean }): Promise<SecretEntry> {
    const now = (this.#options.now ?? Date.now)();
    const maxAge = this.#options.secretCacheTimeInMs ?? 5 * 60_000;
    if (!options.reload && this.#secret && now - this.#secret.readAt < maxAge) return this.#secret.entry;
    const entry = await this.#options.vault.getSecretEntry(secretNames.connectorAppClientSecret());
    this.#secret = { entry, readAt: now };
    return entry;
  }

  /** A fresh MSAL application (cheap); with a cache plugin its cache is the user's, from Key Vault. */
  async application(tenant: string | undefined, cachePlugin?: ICachePlugin, options: { readonly reloadSecret?: boolean } = {}): Promise<ConfidentialClientApplication> {
    const secret = await this.clientSecret({ reload: options.reloadSecret ?? false });
    const authority = this.authority(tenant);
    const configuration: Configuration = {
      auth: { clientId: this.clientId, authority, clientSecret: secret.reveal(), knownAuthorities: [new URL(authority).host] },
      ...(cachePlugin ? { cache: { cachePlugin } } : {}),
      system: {
        loggerOptions: { piiLoggingEnabled: false, loggerCallback: () => undefined },
        // Every Entra call bounded in time and size (MSAL's own client has no POST timeout).
        networkClient: this.#options.networkClient ?? boundedNetworkClient,
      },
    };
    return new (msal().ConfidentialClientApplication)(configuration);
  }
}

/** Entra rejected the connector app's own secret: worth re-reading Key Vault once (rotation). */
export function isClientSecretProblem(error: EntraAuthError): boolean {
  return error.code === 'InvalidClientSecret' || error.code === 'ClientSecretExpired' || error.oauthError === 'invalid_client';
}
