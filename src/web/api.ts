import type { Boot } from './boot.js'

/**
 * A refusal of the settings API: its catalogue code, its words and, for a refused mapping, the
 * server's list of problems one line each (src/errors.ts mappingInvalid), empty when absent.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: string[] = [],
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
    const answer = (await res.json().catch(() => ({}))) as { error?: string; message?: string; errors?: unknown }
    if (!res.ok) {
      const errors = Array.isArray(answer.errors) ? answer.errors.filter((e): e is string => typeof e === 'string') : []
      throw new ApiError(res.status, answer.error ?? `HTTP_${res.status}`, answer.message ?? res.statusText, errors)
    }
    return answer as T
  }
  /**
   * A file of the settings API (the analytics CSV): fetched with the session header, which a plain
   * link cannot carry, so the page saves the body itself. A refusal throws as `call` does.
   */
  async function file(path: string): Promise<{ blob: Blob; filename: string | null; headers: Headers }> {
    const res = await fetch(`/api/settings/${path}`, { headers: { 'x-session': boot.session } })
    if (!res.ok) {
      const answer = (await res.json().catch(() => ({}))) as { error?: string; message?: string }
      throw new ApiError(res.status, answer.error ?? `HTTP_${res.status}`, answer.message ?? res.statusText)
    }
    const disposition = res.headers.get('content-disposition') ?? ''
    const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? null
    return { blob: await res.blob(), filename, headers: res.headers }
  }
  return {
    get: <T>(path: string) => call<T>('GET', path),
    post: <T>(path: string, body?: unknown) => call<T>('POST', path, body ?? {}),
    file,
  }
}

export type Api = ReturnType<typeof createApi>
