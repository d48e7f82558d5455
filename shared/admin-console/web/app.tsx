import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiClient } from './api';
import type { SignedIn } from './auth';
import { href } from './components';
import { AuditLog } from './screens/audit';
import { ConnectionTest } from './screens/connection-test';
import { DelegatedUsers } from './screens/delegated-users';
import { DeadLetters, Delivery } from './screens/delivery';
import { CreateGroup, GroupFrame, GroupList, GroupSettings } from './screens/groups';
import { Mailboxes } from './screens/mailboxes';
import { TenantFrame, TenantList } from './screens/tenants';

/** The hash route as path segments: #/tenants/{id}/groups/{id}/mailboxes?x=y -> ['tenants', id, ...]. */
export function routeSegments(hash: string): string[] {
  const path = hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  return path
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const update = () => setHash(window.location.hash);
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return hash;
}

function navigate(hash: string): void {
  window.location.hash = hash;
}

function Screen(props: { api: ApiClient; segments: string[] }): JSX.Element {
  const { api, segments } = props;
  const [root, tenantId, section, groupId, tab] = segments;
  if (root !== 'tenants' || !tenantId) return <TenantList api={api} />;
  const current = section ?? 'groups';
  return (
    <TenantFrame api={api} tenantId={tenantId} current={current}>
      {() => {
        switch (current) {
          case 'delegated-users':
            return <DelegatedUsers api={api} tenantId={tenantId} />;
          case 'dead-letters':
            return <DeadLetters api={api} tenantId={tenantId} />;
          case 'audit':
            return <AuditLog api={api} tenantId={tenantId} />;
          case 'groups':
            if (!groupId) return <GroupList api={api} tenantId={tenantId} />;
            if (groupId === 'new') return <CreateGroup api={api} tenantId={tenantId} navigate={navigate} />;
            return (
              <GroupFrame api={api} tenantId={tenantId} groupId={groupId} current={tab ?? ''}>
                {(group, reload) => {
                  switch (tab) {
                    case 'connection-test':
                      return <ConnectionTest api={api} group={group} />;
                    case 'mailboxes':
                      return <Mailboxes api={api} group={group} />;
                    case 'delivery':
                      return <Delivery api={api} group={group} />;
                    default:
                      return <GroupSettings api={api} group={group} reload={reload} />;
                  }
                }}
              </GroupFrame>
            );
          default:
            return <p>This page does not exist. <a href={href('tenants', tenantId)}>Back to the tenant</a></p>;
        }
      }}
    </TenantFrame>
  );
}

export function App(props: { api: ApiClient; user: SignedIn }): JSX.Element {
  const hash = useHash();
  const segments = routeSegments(hash);
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    // Move focus to the new page's content so keyboard and screen-reader users land on it.
    main.current?.focus();
  }, [segments.join('/')]);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('tenants')}>
          Exchange Connector admin
        </a>
        <span class="user">
          Signed in as {props.user.account.name ?? props.user.account.username}{' '}
          <button type="button" onClick={() => void props.user.signOut()}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Screen api={props.api} segments={segments} />
      </main>
    </>
  );
}
