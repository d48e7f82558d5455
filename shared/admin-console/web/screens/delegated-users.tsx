import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Schemas } from '../generated/admin-api';
import { Field, Notice, ProblemBox, Show, StatusBadge, formatTime, useAction, useLoad, type ScreenProps, Table, StatusFilter, type StatusFilterValue } from '../components';

type Filter = StatusFilterValue;

export function DelegatedUsers(props: ScreenProps & { tenantId: string }): JSX.Element {
  const tenantId = props.tenantId;
  const [filter, setFilter] = useState<Filter>('all');
  const [users, reloadUsers] = useLoad(() => props.api.call('listDelegatedUsers', { params: { tenantId }, query: { status: filter } }), [tenantId, filter]);
  const [invitations, reloadInvitations] = useLoad(() => props.api.call('listInvitations', { params: { tenantId } }), [tenantId]);
  const [groups] = useLoad(() => props.api.call('listGroups', { params: { tenantId }, query: { limit: 200 } }), [tenantId]);
  const removal = useAction();
  const [removed, setRemoved] = useState<Schemas['DeletedRegistrations']>();
  const deleteRegistrations = async () => {
    if (!window.confirm('Delete registration data: every delegated user\'s stored sign-in and every invitation of this tenant. Users must be invited again. Continue?')) return;
    await removal.run(async () => {
      setRemoved(await props.api.call('deleteRegistrations', { params: { tenantId } }));
      await Promise.all([reloadUsers(), reloadInvitations()]);
    });
  };
  const delegatedGroups = groups.state === 'ready' ? groups.value.items.filter((g) => g.mailboxAccessType === 'delegated') : [];
  return (
    <>
      <h2>Delegated users</h2>
      <StatusFilter name="user-filter" value={filter} onChange={setFilter} />
      <Show loaded={users} what="delegated users">
        {(list) =>
          list.items.length === 0 ? (
            <p>No users have signed in{filter === 'all' ? ' yet' : ' with this status'}.</p>
          ) : (
            <Table caption="Delegated users" columns={['User', 'Status', 'Linked mailbox and folders', 'Signed in']}>
                  {list.items.map((user) => (
                    <tr key={user.userObjectId}>
                      <td>
                        {user.displayName && <span class="name">{user.displayName}</span>} <span class="address">{user.userPrincipalName}</span>
                      </td>
                      <td>
                        <StatusBadge status={user.status} />
                        {user.error && <p class="remediation">{user.error.message}</p>}
                      </td>
                      <td>{user.link ? `${user.link.mailbox} (${(user.link.folders ?? []).join(', ') || 'group folders'})` : 'Not linked'}</td>
                      <td>{formatTime(user.signedInAt)}</td>
                    </tr>
                  ))}
                </Table>
          )
        }
      </Show>
      {delegatedGroups.length > 0 ? <Invite api={props.api} tenantId={tenantId} groups={delegatedGroups} onInvited={reloadInvitations} /> : <p>Create a group with the Delegated Mailbox Access Type to invite users.</p>}
      <h3>Invitations</h3>
      <Show loaded={invitations} what="invitations">
        {(list) =>
          list.items.length === 0 ? (
            <p>No invitations.</p>
          ) : (
            <Table caption="Invitations" columns={['Mailbox', 'State', 'Email', 'Expires', 'Action']}>
                  {list.items.map((invitation) => (
                    <tr key={invitation.id}>
                      <td>{invitation.mailbox}</td>
                      <td>
                        <StatusBadge status={invitation.state} /> {invitation.purpose === 'reauthentication' ? '(re-authentication)' : ''}
                      </td>
                      <td>{invitation.email?.sentAt ? `Sent ${formatTime(invitation.email.sentAt)}` : invitation.email?.error ? `Not sent: ${invitation.email.error}` : 'Not emailed'}</td>
                      <td>{formatTime(invitation.expiresAt)}</td>
                      <td>{invitation.state !== 'accepted' && <Resend api={props.api} tenantId={tenantId} groupId={invitation.groupId} mailbox={invitation.mailbox} onSent={reloadInvitations} />}</td>
                    </tr>
                  ))}
                </Table>
          )
        }
      </Show>
      <EmailSettings api={props.api} tenantId={tenantId} />
      <h3>Registration data</h3>
      <p>Deletes every delegated user's stored sign-in (token caches in Key Vault) and every invitation of this tenant.</p>
      <button type="button" class="danger" onClick={deleteRegistrations} disabled={removal.busy}>
        Delete registration data
      </button>
      <ProblemBox error={removal.error} />
      {removed && (
        <Notice kind="success">
          Deleted {removed.users} users, {removed.tokenCaches} stored sign-ins and {removed.invitations} invitations.
        </Notice>
      )}
    </>
  );
}

function Resend(props: ScreenProps & { tenantId: string; groupId: string; mailbox: string; onSent: () => Promise<void> }): JSX.Element {
  const action = useAction();
  const resend = async () => {
    if (await action.run(async () => void (await props.api.call('createInvitations', { params: { tenantId: props.tenantId, groupId: props.groupId }, body: { mailboxes: [props.mailbox], sendEmail: true } })))) await props.onSent();
  };
  return (
    <>
      <button type="button" onClick={resend} disabled={action.busy} aria-label={`Resend invitation to ${props.mailbox}`}>
        Resend
      </button>
      <ProblemBox error={action.error} />
    </>
  );
}

function Invite(props: ScreenProps & { tenantId: string; groups: Schemas['Group'][]; onInvited: () => Promise<void> }): JSX.Element {
  const [groupId, setGroupId] = useState(props.groups[0]?.id ?? '');
  const [mailboxes, setMailboxes] = useState('');
  const [sendEmail, setSendEmail] = useState(false);
  const [message, setMessage] = useState('');
  const [created, setCreated] = useState<Schemas['CreatedInvitations']>();
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const list = mailboxes.split(/[\s,;]+/).filter(Boolean);
    const ok = await action.run(async () => {
      setCreated(await props.api.call('createInvitations', { params: { tenantId: props.tenantId, groupId }, body: { mailboxes: list, sendEmail, ...(message ? { message } : {}) } }));
    });
    if (ok) {
      setMailboxes('');
      await props.onInvited();
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="invite-title">
      <h3 id="invite-title">Invite users</h3>
      <Field label="Group">
        {(a11y) => (
          <select {...a11y} value={groupId} onChange={(e) => setGroupId(e.currentTarget.value)}>
            {props.groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Mailboxes" help="One SMTP address per line; each user gets a personal sign-in link." pointer="/mailboxes" error={action.error}>
        {(a11y) => <textarea {...a11y} rows={3} value={mailboxes} onInput={(e) => setMailboxes(e.currentTarget.value)} />}
      </Field>
      <div class="choice">
        <input type="checkbox" id="invite-email" checked={sendEmail} onChange={(e) => setSendEmail(e.currentTarget.checked)} aria-describedby="invite-email-help" />
        <label for="invite-email">Send invitation email</label>
        <p class="help" id="invite-email-help">
          Without email, hand out the links shown below yourself.
        </p>
      </div>
      {sendEmail && (
        <Field label="Message (optional)" help="Added to the email text." pointer="/message" error={action.error}>
          {(a11y) => <textarea {...a11y} rows={2} value={message} onInput={(e) => setMessage(e.currentTarget.value)} />}
        </Field>
      )}
      <ProblemBox error={action.error} shownPointers={['/mailboxes', '/message']} />
      <button type="submit" disabled={action.busy}>
        Invite
      </button>
      {created && (
        <div aria-live="polite">
          <Notice kind="success">{created.items.length} invitation(s) created. The links are shown only now.</Notice>
          <ul class="links">
            {created.items.map((item) => (
              <li key={item.id}>
                <label>
                  {item.mailbox}
                  {item.email?.sentAt ? ' (email sent)' : item.email?.error ? ` (email not sent: ${item.email.error})` : ''}
                  <input type="text" readOnly value={item.link} onFocus={(e) => e.currentTarget.select()} />
                </label>
              </li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}

/** Where invitation and re-authentication emails come from, and whether they are sent. */
function EmailSettings(props: ScreenProps & { tenantId: string }): JSX.Element {
  const [settings] = useLoad(() => props.api.call('getConsentSettings', { params: { tenantId: props.tenantId } }), [props.tenantId]);
  return (
    <Show loaded={settings} what="email settings">
      {(value) => <EmailSettingsForm api={props.api} tenantId={props.tenantId} initial={value} />}
    </Show>
  );
}

function EmailSettingsForm(props: ScreenProps & { tenantId: string; initial: Schemas['ConsentSettings'] }): JSX.Element {
  const [senderMailbox, setSender] = useState(props.initial.senderMailbox ?? '');
  const [emailInvitations, setInvitations] = useState(props.initial.emailInvitations);
  const [emailReauthentication, setReauthentication] = useState(props.initial.emailReauthentication);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const body: Schemas['ConsentSettings'] = {
      ...props.initial,
      emailInvitations,
      emailReauthentication,
      ...(senderMailbox ? { senderMailbox } : {}),
    };
    if (!senderMailbox) delete (body as { senderMailbox?: string }).senderMailbox;
    setSaved(await action.run(async () => void (await props.api.call('setConsentSettings', { params: { tenantId: props.tenantId }, body }))));
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="email-settings-title">
      <h3 id="email-settings-title">Invitation emails</h3>
      <Field label="Sender mailbox" help="Invitation and re-authentication emails are sent from this mailbox through the connector app (needs the customer's admin consent)." pointer="/senderMailbox" error={action.error}>
        {(a11y) => <input {...a11y} type="email" value={senderMailbox} onInput={(e) => setSender(e.currentTarget.value)} />}
      </Field>
      <div class="choice">
        <input type="checkbox" id="email-invitations" checked={emailInvitations} onChange={(e) => setInvitations(e.currentTarget.checked)} />
        <label for="email-invitations">Email invitations by default</label>
      </div>
      <div class="choice">
        <input type="checkbox" id="email-reauthentication" checked={emailReauthentication} onChange={(e) => setReauthentication(e.currentTarget.checked)} />
        <label for="email-reauthentication">Email users who must sign in again</label>
      </div>
      <ProblemBox error={action.error} shownPointers={['/senderMailbox']} />
      {saved && <Notice kind="success">Saved.</Notice>}
      <button type="submit" disabled={action.busy}>
        Save email settings
      </button>
    </form>
  );
}
