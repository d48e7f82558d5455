/** The loopback free-port helper lives with the dev servers (the KDC needs it too); tests import it from here. */
export { freeLoopbackPort } from '../../dev/server-lifecycle';
