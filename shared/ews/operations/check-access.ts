import { EwsError } from '../errors';
import type { MailboxClient } from '../mailbox-client';
import type { EwsFolder } from '../types';
import { getFolder } from './get-folder';

export type MailboxAccessCheck = { readonly ok: true; readonly inbox: EwsFolder } | { readonly ok: false; readonly error: EwsError };

/**
 * A connection test for admins: reads the mailbox's Inbox (one GetFolder). Failures come back as a
 * value carrying the typed error, so the caller can show the code and message; other exceptions propagate.
 */
export async function checkMailboxAccess(client: MailboxClient): Promise<MailboxAccessCheck> {
  try {
    return { ok: true, inbox: await getFolder(client, { distinguished: 'inbox' }) };
  } catch (error: unknown) {
    if (error instanceof EwsError) return { ok: false, error };
    throw error;
  }
}
