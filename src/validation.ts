import type { z } from 'zod'
import { Errors } from './errors.js'

/** Parse untrusted input with a zod schema; failures become a 400 naming each bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const res = schema.safeParse(value ?? {})
  if (res.success) return res.data
  const detail = res.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : what}: ${i.message}`)
    .join('; ')
  throw Errors.badRequest(`invalid ${what} (${detail})`)
}
