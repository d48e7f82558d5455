/**
 * Sends invitation and re-authentication emails from a tenant's configured sender mailbox
 * through EWS, as the connector app with an app-only token in the customer's tenant (this
 * needs the tenant's admin consent to the connector app, which grants full_access_as_app).
 *
 * The token is the connector app's, valid for every mailbox of that Entra tenant: it goes only
 * to Exchange Online's fixed endpoint (EWS_DEFAULT_URL), never to a URL from a group or a tenant
 * admin, and only for the tenant's proved binding (the caller passes verifiedEntraTenant).
 */
import { acquireAppOnlyToken } from '../auth/app-only-token';
import type { ConnectorApp } from '../auth/connector-app';
import type { ConnectorEnvironment } from '../config';
import { publicOnlyLookup } from '../delivery/address-policy';
import { createMailboxClient, sendMessage } from '../ews';
import type { OutgoingMessage } from '../ews';

export interface MailToSend {
  /** The tenant's verified Entra tenant (verifiedEntraTenant): the token is for it alone. */
  readonly entraTenantId: string;
  readonly senderMailbox: string;
  readonly to: string;
  readonly subject: string;
  readonly html: string;
}

export interface InvitationMailer {
  send(mail: MailToSend): Promise<void>;
}

export function connectorAppMailer(connectorApp: ConnectorApp, options: { readonly ewsUrl: string; readonly environment: ConnectorEnvironment }): InvitationMailer {
  return {
    async send(mail) {
      const secret = await connectorApp.clientSecret();
      const credential = {
        kind: 'bearer' as const,
        getToken: async () =>
          (
            await acquireAppOnlyToken({
              authorityHost: connectorApp.authorityHost,
              tenantId: mail.entraTenantId,
              clientId: connectorApp.clientId,
              credential: { kind: 'secret', secret },
              resource: connectorApp.ewsResource,
            })
          ).token,
      };
      const client = createMailboxClient(options.ewsUrl, credential, {
        mailbox: mail.senderMailbox,
        access: 'appOnly',
        allowInsecureHttp: options.environment === 'development',
        lookup: publicOnlyLookup(options.environment),
      });
      const message: OutgoingMessage = { to: [mail.to], subject: mail.subject, body: { contentType: 'html', content: mail.html } };
      await sendMessage(client, message);
    },
  };
}
