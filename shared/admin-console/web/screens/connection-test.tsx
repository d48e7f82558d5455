import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Schemas } from '../generated/admin-api';
import { Field, Notice, ProblemBox, StatusBadge, formatTime, useAction, type ScreenProps } from '../components';

type Result = Schemas['ConnectionTestResult'];

const STEP_WORDS: Record<Result['steps'][number]['name'], string> = {
  configuration: 'Configuration',
  credentialExpiry: 'Credential expiry',
  tokenAcquisition: 'Token from Entra',
  endpointReachable: 'EWS endpoint reachable',
  autodiscover: 'Autodiscover (EWS URL from the address)',
  authentication: 'Authentication',
  ewsEnabled: 'EWS enabled for the account',
  impersonation: 'Impersonation rights',
  folderAccess: 'Folder access',
  graphRoles: 'Graph permissions (roles)',
  mailboxReachable: 'Mailbox reachable over Graph',
  rbacScope: 'Exchange RBAC scope',
};

export function ConnectionTest(props: ScreenProps & { group: Schemas['Group'] }): JSX.Element {
  const { group } = props;
  const [target, setTarget] = useState('');
  const [result, setResult] = useState<Result>();
  const action = useAction();
  if (group.mailboxAccessType === 'delegated') return <p>Delegated groups are tested per user: each user's sign-in shows under Delegated users.</p>;
  const run = async (event: Event) => {
    event.preventDefault();
    await action.run(async () => {
      setResult(await props.api.call('runConnectionTest', { params: { tenantId: group.tenantId, groupId: group.id }, body: target ? { targetMailbox: target } : {} }));
    });
  };
  return (
    <>
      <h3>Connection test</h3>
      <p>Checks each step from the configuration to opening a mailbox folder, and says what to do when one fails.</p>
      <form onSubmit={run} noValidate>
        <Field label="Mailbox to open (optional)" help="Default: the group's first mailbox." pointer="/targetMailbox" error={action.error}>
          {(a11y) => <input {...a11y} type="email" value={target} onInput={(e) => setTarget(e.currentTarget.value)} />}
        </Field>
        <ProblemBox error={action.error} shownPointers={['/targetMailbox']} />
        <button type="submit" disabled={action.busy}>
          {result ? 'Re-run connection test' : 'Run connection test'}
        </button>
        {action.busy && <span role="status"> Testing…</span>}
      </form>
      {result && (
        <section aria-labelledby="result-title" aria-live="polite">
          <h4 id="result-title">
            Result: <StatusBadge status={result.outcome} />
          </h4>
          <p class="meta">
            {result.ewsUrl}
            {result.targetMailbox ? ` · ${result.targetMailbox}` : ''} · {formatTime(result.startedAt)}
          </p>
          {(result.warnings ?? []).map((warning) => (
            <Notice kind="warning" key={warning}>
              {warning}
            </Notice>
          ))}
          <ol class="steps">
            {result.steps.map((step) => (
              <li key={step.name} class={`step step-${step.status}`}>
                <p>
                  <StatusBadge status={step.status} /> <strong>{STEP_WORDS[step.name]}</strong> <span class="meta">({step.durationInMs} ms)</span>
                </p>
                <p class={step.status === 'failed' ? 'remediation' : 'help'}>{step.message}</p>
                {step.code && <p class="meta">Code: {step.code}</p>}
              </li>
            ))}
          </ol>
        </section>
      )}
    </>
  );
}
