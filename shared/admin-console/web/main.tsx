/**
 * The console's entry point: read the sign-in settings the Functions app serves, complete a
 * sign-in redirect if one is coming back, then show the console or the sign-in page.
 */
import { render, type JSX } from 'preact';
import { createApiClient } from './api';
import { App } from './app';
import { redirectUri, startAuth, type ConsoleConfig } from './auth';
import './styles.css';

function SignIn(props: { signIn: () => Promise<void> }): JSX.Element {
  return (
    <main id="main" class="signin">
      <h1>Exchange Connector admin</h1>
      <p>Sign in with your organisation account. Operators (Connector.Admin) see every tenant; tenant administrators see their own tenants.</p>
      <button type="button" onClick={() => void props.signIn()}>
        Sign in
      </button>
    </main>
  );
}

function Failure(props: { title: string; detail: string }): JSX.Element {
  return (
    <main id="main" class="signin">
      <h1>{props.title}</h1>
      <p role="alert">{props.detail}</p>
      <p>
        <a href={redirectUri()}>Try again</a>
      </p>
    </main>
  );
}

/** Replaces the static "Loading…" text: preact's render adds to what the element holds. */
function mount(root: HTMLElement, node: JSX.Element): void {
  root.replaceChildren();
  render(node, root);
}

async function boot(root: HTMLElement): Promise<void> {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as { title?: string; detail?: string };
    mount(root, <Failure title={problem.title ?? 'The admin console is not available'} detail={problem.detail ?? `config.json answered ${response.status}.`} />);
    return;
  }
  const config = (await response.json()) as ConsoleConfig;
  const auth = await startAuth(config);
  const user = auth.signedIn;
  if (!user) {
    mount(root, <SignIn signIn={auth.signIn} />);
    return;
  }
  if (!window.location.hash.startsWith('#/')) window.history.replaceState(null, '', '#/tenants');
  mount(root, <App api={createApiClient(config.apiBase, () => user.token())} user={user} />);
}

const root = document.getElementById('app');
if (root) {
  boot(root).catch((error: unknown) => {
    mount(root, <Failure title="Sign-in failed" detail={error instanceof Error ? error.message : String(error)} />);
  });
}
