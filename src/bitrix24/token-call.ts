import { z } from 'zod'
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

/**
 * Several methods in one `batch` request made with somebody else's token (a verified user's
 * AUTH_ID): each command's `result` by its key, undefined for a command that failed. The whole
 * call undefined when the portal refused the token or could not be reached. One request of the
 * portal's budget, however many commands.
 * @see https://apidocs.bitrix24.com/api-reference/common/batch.html
 */
export async function batchWithToken(
  clientEndpoint: string,
  cmd: Record<string, string>,
  token: string,
  timeoutMs: number,
): Promise<Record<string, unknown> | undefined> {
  const answer = await callBatch(clientEndpoint, { auth: token, halt: 0, cmd }, timeoutMs)
  const parsed = BatchAnswer.safeParse(answer)
  if (!parsed.success) return undefined
  return parsed.data.result
}

const BatchAnswer = z.object({ result: z.record(z.string(), z.unknown()) })

async function callBatch(clientEndpoint: string, body: unknown, timeoutMs: number): Promise<unknown> {
  try {
    const res = await fetch(new URL('batch.json', clientEndpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (!res.ok) return undefined
    return ((await res.json()) as { result?: unknown }).result
  } catch {
    return undefined
  }
}
