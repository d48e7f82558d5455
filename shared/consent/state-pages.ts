import type { ConsentStateError } from '../auth/consent-state';
import type { ResultPage } from './result-page';

/** The page for a refused state: says what to do, never why in detail beyond the error's own safe text. */
export function stateProblemPage(error: ConsentStateError): ResultPage {
  const titles: Record<ConsentStateError['code'], string> = {
    StateMissing: 'This link is incomplete',
    StateMalformed: 'This link is not valid',
    StateSignatureInvalid: 'This link is not valid',
    StateExpired: 'This link has expired',
    StateWrongPurpose: 'This link is not valid',
    StateReplayed: 'This link was already used',
    StateWrongTenant: 'Wrong organisation',
  };
  return { status: error.code === 'StateWrongTenant' ? 403 : 400, code: error.code, title: titles[error.code], message: error.message };
}
