/**
 * Negotiate (SPNEGO/Kerberos) on the EWS endpoint, as IIS in front of Exchange accepts it: the
 * client sends `Authorization: Negotiate <token>` holding an AP-REQ for the server's HTTP service
 * principal; the server decrypts it with its keytab (MIT GSSAPI through the `kerberos` addon,
 * the same library the connector uses as the client) and knows the caller's principal.
 *
 * A token that is not Kerberos for this service (a ticket for another SPN, a forged or replayed
 * token, garbage) gets 401 with the offered schemes (WWW-Authenticate: Negotiate, NTLM, ...) and
 * an empty body, as IIS answers; nothing of the token comes back. Raw NTLMSSP inside Negotiate is
 * left to the NTLM authenticator.
 */
import { gssLibrary, kerberosAvailability, withKrb5Environment } from '../../shared/auth/kerberos/gss-library';
import { findAccount, type AuthOutcome, type AuthRequest, type Authenticator } from './auth';
import type { EwsStore } from './model';

export interface KerberosAcceptorOptions {
  /** The server's HTTP service principal without realm, e.g. HTTP/mail.contoso.com. */
  readonly servicePrincipal: string;
  /** Keytab holding the service principal's keys (what setspn/ktpass give IIS). */
  readonly keytabPath: string;
  /** krb5.conf naming the realm (the KDC's). */
  readonly krb5ConfigPath: string;
  /** Where the acceptor's replay cache lives (default: the MIT default). */
  readonly replayCacheDir?: string;
}

const NTLMSSP = Buffer.from('NTLMSSP\0', 'latin1');

export class KerberosAuthenticator implements Authenticator {
  readonly scheme = 'Negotiate' as const;

  constructor(
    private readonly store: EwsStore,
    private readonly options: KerberosAcceptorOptions,
  ) {
    const availability = kerberosAvailability();
    if (!availability.available) throw new Error(`The EWS simulator cannot accept Kerberos: ${availability.reason}`);
  }

  offered(): string[] {
    return ['Negotiate'];
  }

  async authenticate(request: AuthRequest): Promise<AuthOutcome> {
    const match = /^\s*Negotiate\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.authorization ?? '');
    if (!match) return { kind: 'none' };
    const token = match[1]!;
    if (Buffer.from(token.slice(0, 12), 'base64').subarray(0, NTLMSSP.length).equals(NTLMSSP)) return { kind: 'none' };
    let principal: string;
    try {
      principal = await this.accept(token);
    } catch (error) {
      return { kind: 'rejected', status: 401, reason: `Kerberos: ${error instanceof Error ? error.message.slice(0, 200) : 'not accepted'}` };
    }
    const [name = '', realm = ''] = principal.split('@');
    const account = findAccount(this.store, `${name}@${realm.toLowerCase()}`);
    if (!account) return { kind: 'rejected', status: 401, reason: `Kerberos: no account for ${principal}` };
    if (!account.enabled) return { kind: 'rejected', status: 401, reason: 'Kerberos: account disabled' };
    return {
      kind: 'authenticated',
      caller: { scheme: 'Negotiate', organisationId: account.organisationId, kind: 'account', principal: account.userPrincipalName, ...(account.mailbox ? { mailbox: account.mailbox.smtpAddress } : {}) },
    };
  }

  /** The client principal of a valid token for our service principal; throws for anything else. */
  private accept(token: string): Promise<string> {
    const library = gssLibrary();
    const [service, host] = this.options.servicePrincipal.split('/');
    return withKrb5Environment(
      {
        KRB5_CONFIG: this.options.krb5ConfigPath,
        KRB5_KTNAME: `FILE:${this.options.keytabPath}`,
        ...(this.options.replayCacheDir ? { KRB5RCACHEDIR: this.options.replayCacheDir } : {}),
      },
      async () => {
        const server = await library.initializeServer(`${service}@${host}`);
        await server.step(token);
        if (!server.contextComplete || !server.username) throw new Error('the security context did not complete');
        return server.username;
      },
    );
  }
}
