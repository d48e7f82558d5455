import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Schemas } from '../generated/admin-api';
import { Notice, ProblemBox, Show, formatTime, useAction, useLoad, type ScreenProps, Table } from '../components';

export function Delivery(props: ScreenProps & { group: Schemas['Group'] }): JSX.Element {
  const params = { tenantId: props.group.tenantId, groupId: props.group.id };
  const [state, reload] = useLoad(() => props.api.call('getGroupDelivery', { params }), [props.group.id]);
  const [key, setKey] = useState<Schemas['WebhookSigningKey']>();
  const action = useAction();
  const rotate = async () => {
    if (await action.run(async () => setKey(await props.api.call('rotateWebhookSigningKey', { params })))) await reload();
  };
  return (
    <>
      <h3>Delivery</h3>
      <Show loaded={state} what="delivery">
        {(value) => (
          <>
            <dl class="facts">
              <dt>Target</dt>
              <dd>{!value.target ? 'None: changes are not delivered' : value.target.kind === 'webhook' ? `Webhook ${value.target.url}` : `Storage queue ${value.target.queueName}`}</dd>
              <dt>Health</dt>
              <dd>
                {value.failingSince
                  ? `Failing since ${formatTime(value.failingSince)}: ${value.lastDeliveryError?.message ?? ''}`
                  : value.lastDeliveredAt
                    ? `Healthy: last delivered ${formatTime(value.lastDeliveredAt)}`
                    : 'Nothing delivered yet'}
              </dd>
              <dt>Signing key</dt>
              <dd>{value.signingKeySet ? 'Set (never shown again)' : 'Not set'}</dd>
            </dl>
            {value.target?.kind === 'webhook' && (
              <>
                <button type="button" onClick={rotate} disabled={action.busy}>
                  Rotate signing key
                </button>
                <ProblemBox error={action.error} />
              </>
            )}
          </>
        )}
      </Show>
      {key && (
        <div class="once" aria-live="polite">
          <Notice kind="warning">This signing secret is shown only now. Configure your receiver with it before you leave this page.</Notice>
          <label>
            Signing secret (version {key.version}; header {key.header}, {key.scheme})
            <input type="text" readOnly value={key.secret} onFocus={(e) => e.currentTarget.select()} />
          </label>
        </div>
      )}
    </>
  );
}

export function DeadLetters(props: ScreenProps & { tenantId: string }): JSX.Element {
  const [page, reload] = useLoad(() => props.api.call('listDeadLetters', { params: { tenantId: props.tenantId }, query: { limit: 100 } }), [props.tenantId]);
  const [replayed, setReplayed] = useState<string>();
  const action = useAction();
  const replay = async (id: string) => {
    if (await action.run(async () => void (await props.api.call('replayDeadLetter', { params: { tenantId: props.tenantId, deadLetterId: id } })))) {
      setReplayed(id);
      await reload();
    }
  };
  return (
    <>
      <h2>Dead letters</h2>
      <p>Change batches that could not be delivered after every retry. Replay queues one for delivery again.</p>
      <ProblemBox error={action.error} />
      {replayed && <Notice kind="success">Queued for delivery again.</Notice>}
      <Show loaded={page} what="dead letters">
        {(value) =>
          value.items.length === 0 ? (
            <p>No dead letters.</p>
          ) : (
            <Table caption="Dead letters" columns={['Mailbox', 'Records', 'Last error', 'Dead-lettered', 'Replays', 'Action']}>
                  {value.items.map((letter) => (
                    <tr key={letter.id}>
                      <td>{letter.mailbox}</td>
                      <td>{letter.recordCount}</td>
                      <td>
                        {letter.lastError.message} <span class="meta">({letter.attempts} attempts)</span>
                      </td>
                      <td>{formatTime(letter.deadLetteredAt)}</td>
                      <td>{letter.replayCount > 0 ? `${letter.replayCount}, last ${formatTime(letter.replayedAt)}` : 'None'}</td>
                      <td>
                        <button type="button" onClick={() => replay(letter.id)} disabled={action.busy} aria-label={`Replay dead letter for ${letter.mailbox}`}>
                          Replay
                        </button>
                      </td>
                    </tr>
                  ))}
                </Table>
          )
        }
      </Show>
    </>
  );
}
