/**
 * One REST call made with somebody else's token (an event's or a user's AUTH_ID), to check that
 * the token works. It always goes to the portal's endpoint stored at install, never one taken from
 * the request. Returns the method's `result`, or undefined when the portal refused the token (or
 * could not be reached).
 */
export async function callWithToken(
  clientEndpoint: string,
  method: string,
  token: string,
  timeoutMs: number,
): Promise<unknown> {
  try {
    const res = await fetch(new URL(`${method}.json`, clientEndpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: token }),
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (!res.ok) return undefined
    return ((await res.json()) as { result?: unknown }).result
  } catch {
    return undefined
  }
}
