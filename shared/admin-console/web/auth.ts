/**
 * Sign-in with MSAL for the browser: authorization code with PKCE against Entra (or, locally,
 * the local identity provider), redirect flow (works by keyboard, no pop-up blockers). Tokens are
 * kept in sessionStorage (gone with the tab), never in localStorage.
 */
import { BrowserCacheLocation, InteractionRequiredAuthError, createStandardPublicClientApplication, type AccountInfo } from '@azure/msal-browser';

export interface ConsoleConfig {
  readonly clientId: string;
  readonly authority: string;
  readonly knownAuthority: string;
  readonly scopes: readonly string[];
  readonly apiBase: string;
}

export interface SignedIn {
  readonly account: AccountInfo;
  token(): Promise<string>;
  signOut(): Promise<void>;
}

export interface Auth {
  /** The signed-in user after a redirect back (or a session still in this tab), else undefined. */
  readonly signedIn: SignedIn | undefined;
  signIn(): Promise<void>;
}

export function redirectUri(): string {
  return new URL('./', window.location.href).href.replace(/[?#].*$/, '');
}

export async function startAuth(config: ConsoleConfig): Promise<Auth> {
  const msal = await createStandardPublicClientApplication({
    auth: {
      clientId: config.clientId,
      authority: config.authority,
      knownAuthorities: [config.knownAuthority],
      redirectUri: redirectUri(),
      postLogoutRedirectUri: redirectUri(),
    },
    cache: { cacheLocation: BrowserCacheLocation.SessionStorage },
  });
  const result = await msal.handleRedirectPromise();
  const account = result?.account ?? msal.getAllAccounts()[0];
  const scopes = [...config.scopes];
  if (account) msal.setActiveAccount(account);
  const signedIn: SignedIn | undefined = account
    ? {
        account,
        async token() {
          try {
            return (await msal.acquireTokenSilent({ scopes, account })).accessToken;
          } catch (error) {
            if (error instanceof InteractionRequiredAuthError) {
              await msal.acquireTokenRedirect({ scopes, account });
              // The page navigates away; nothing waits for this promise.
              return new Promise<string>(() => undefined);
            }
            throw error;
          }
        },
        async signOut() {
          // Clears this tab's tokens without a round trip to the authority's sign-out page.
          await msal.clearCache({ account });
          window.location.replace(redirectUri());
        },
      }
    : undefined;
  return {
    signedIn,
    signIn: () => msal.loginRedirect({ scopes }),
  };
}
