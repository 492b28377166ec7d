/**
 * The check placement.bind and event.bind make on a handler URL: it must be reachable from the
 * internet, so it needs the http(s) scheme and a host with a domain. localhost, *.localhost and
 * single-label hosts are refused with ERROR_WRONG_HANDLER_URL; another scheme with
 * ERROR_UNSUPPORTED_PROTOCOL.
 *
 * 127.0.0.1 (any IPv4 literal) stays accepted on purpose: every test runs the app there, so it is
 * the tests' stand-in for a public host.
 * @see api-reference/widgets/index.md ("URLs without a domain, including localhost, do not pass the check")
 * @see api-reference/widgets/placement-bind.md, api-reference/events/event-bind.md
 */
import { RestError } from '../rest-error.js'

export function checkHandlerUrl(handler: string): void {
  let url: URL
  try {
    url = new URL(handler)
  } catch {
    throw new RestError(400, 'ERROR_WRONG_HANDLER_URL', 'Wrong handler URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RestError(400, 'ERROR_UNSUPPORTED_PROTOCOL', 'Unsupported protocol')
  }
  const host = url.hostname.toLowerCase().replace(/\.$/, '')
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return
  if (host === 'localhost' || host.endsWith('.localhost') || !host.includes('.')) {
    throw new RestError(400, 'ERROR_WRONG_HANDLER_URL', 'Wrong handler URL')
  }
}
