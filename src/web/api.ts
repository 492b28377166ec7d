import type { Boot } from './boot.js'

/** A refusal of the settings API: its catalogue code and its words (src/errors.ts). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** The settings API with the page's session and CSRF token (src/settings/api-guard.ts). */
export function createApi(boot: Pick<Boot, 'session' | 'csrf'>) {
  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'x-session': boot.session }
    if (method === 'POST') {
      headers['x-csrf-token'] = boot.csrf
      headers['content-type'] = 'application/json'
    }
    const res = await fetch(`/api/settings/${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const answer = (await res.json().catch(() => ({}))) as { error?: string; message?: string }
    if (!res.ok) throw new ApiError(res.status, answer.error ?? `HTTP_${res.status}`, answer.message ?? res.statusText)
    return answer as T
  }
  return {
    get: <T>(path: string) => call<T>('GET', path),
    post: <T>(path: string, body?: unknown) => call<T>('POST', path, body ?? {}),
  }
}

export type Api = ReturnType<typeof createApi>
