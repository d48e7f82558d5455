/**
 * Sends invitation and re-authentication emails from a tenant's configured sender mailbox
 * through EWS, as the connector app with an app-only token in the customer's tenant (this
 * needs the tenant's admin consent to the connector app, which grants full_access_as_app).
 */
import { acquireAppOnlyToken } from '../auth/app-only-token';
import type { ConnectorApp } from '../auth/connector-app';
import { createMailboxClient, sendMessage } from '../ews';
import type { OutgoingMessage } from '../ews';

export interface MailToSend {
  readonly entraTenantId: string;
  readonly ewsUrl: string;
  readonly senderMailbox: string;
  readonly to: string;
  readonly subject: string;
  readonly html: string;
}

export interface InvitationMailer {
  send(mail: MailToSend): Promise<void>;
}

export function connectorAppMailer(connectorApp: ConnectorApp, options: { readonly allowInsecureHttp: boolean }): InvitationMailer {
  return {
    async send(mail) {
      const secret = await connectorApp.clientSecret();
      const credential = {
        kind: 'bearer' as const,
        getToken: async () =>
          (await acquireAppOnlyToken({ authorityHost: connectorApp.authorityHost, tenantId: mail.entraTenantId, clientId: connectorApp.clientId, credential: { kind: 'secret', secret } })).token,
      };
      const client = createMailboxClient(mail.ewsUrl, credential, { mailbox: mail.senderMailbox, access: 'appOnly', allowInsecureHttp: options.allowInsecureHttp });
      const message: OutgoingMessage = { to: [mail.to], subject: mail.subject, body: { contentType: 'html', content: mail.html } };
      await sendMessage(client, message);
    },
  };
}
