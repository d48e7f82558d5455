/** A local vault on a free port plus a stub credential that counts what the SDK asks of it. */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { join } from 'node:path';
import { ensureDevCertificate } from '../../dev/certs';
import { startKeyVaultServer, type KeyVaultRequestEvent, type KeyVaultServerOptions, type RunningKeyVaultServer } from '../../dev/keyvault';
import { projectRoot } from '../../dev/project-paths';

export const TEST_TENANT_ID = '00000000-0000-4000-8000-000000000001';
export const TEST_AUTHORITY_HOST = 'https://localhost:8444';
export const TEST_TOKEN = 'stub-access-token-for-tests';

export interface StartedVault {
  readonly server: RunningKeyVaultServer;
  /** Every request the vault answered, in order. */
  readonly requests: KeyVaultRequestEvent[];
}

export async function startTestVault(options: Partial<KeyVaultServerOptions> = {}): Promise<StartedVault> {
  const certificate = await ensureDevCertificate(join(projectRoot(), '.dev', 'certs'));
  const requests: KeyVaultRequestEvent[] = [];
  const server = await startKeyVaultServer({
    port: 0,
    host: '127.0.0.1',
    tlsCertificate: certificate,
    tenantId: TEST_TENANT_ID,
    authorityHost: TEST_AUTHORITY_HOST,
    onRequest: (event) => requests.push(event),
    ...options,
  });
  return { server, requests };
}

export interface TokenRequest {
  readonly scopes: readonly string[];
  readonly tenantId?: string;
}

/** A TokenCredential returning a fixed token; records each request for a token. */
export class StubCredential implements TokenCredential {
  readonly tokenRequests: TokenRequest[] = [];

  constructor(private readonly token: string = TEST_TOKEN) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    this.tokenRequests.push({ scopes: Array.isArray(scopes) ? scopes : [scopes], tenantId: options?.tenantId });
    return { token: this.token, expiresOnTimestamp: Date.now() + 3600_000 };
  }
}
