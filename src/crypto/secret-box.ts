import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * Encryption at rest for tokens and secrets: AES-256-GCM, a fresh 96-bit IV per value, the key id
 * in each value so keys can be rotated (the first key encrypts, every listed key decrypts).
 * Stored form: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts).
 * @see https://nodejs.org/api/crypto.html#class-cipher (GCM: the auth tag makes tampering fail loudly)
 */
export interface SecretBox {
  seal(plain: string): string
  open(sealed: string): string
  /** true when the value was sealed with a key other than the current one (re-seal it) */
  isStale(sealed: string): boolean
}

const PREFIX = 'v1'

export function parseKeys(spec: string): Array<{ id: string; key: Buffer }> {
  return spec.split(',').map((part) => {
    const [id, b64] = part.split(':') as [string, string]
    const key = Buffer.from(b64, b64.includes('-') || b64.includes('_') ? 'base64url' : 'base64')
    if (key.length !== 32) throw new Error(`SECRETS_KEY: key "${id}" is not 32 bytes`)
    return { id, key }
  })
}

export function createSecretBox(keys: Array<{ id: string; key: Buffer }>): SecretBox {
  if (keys.length === 0) throw new Error('secret box: no key')
  const current = keys[0]!
  const byId = new Map(keys.map((k) => [k.id, k.key]))
  return {
    seal(plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', current.key, iv)
      // The key id is authenticated too: a value cannot be re-labelled to another key.
      cipher.setAAD(Buffer.from(current.id))
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return [
        PREFIX,
        current.id,
        iv.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
        ct.toString('base64url'),
      ].join('.')
    },
    open(sealed) {
      const [v, id, iv, tag, ct] = sealed.split('.')
      if (v !== PREFIX || !id || iv === undefined || tag === undefined || ct === undefined)
        throw new Error('secret box: not a sealed value')
      const key = byId.get(id)
      if (!key)
        throw new Error(
          `secret box: no key "${id}" to open this value (was SECRETS_KEY rotated without keeping the old key?)`,
        )
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      decipher.setAAD(Buffer.from(id))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8')
    },
    isStale(sealed) {
      return sealed.split('.')[1] !== current.id
    },
  }
}

/**
 * The box the app runs with: SECRETS_KEY when set; else a key file beside the database, made once
 * with mode 0600 (so `npm start` needs no setup and restarts can still read what was stored); an
 * in-memory database gets a per-process key.
 */
export function secretBoxFor(spec: string | undefined, databasePath: string): SecretBox {
  if (spec) return createSecretBox(parseKeys(spec))
  if (databasePath === ':memory:') return createSecretBox([{ id: 'mem', key: randomBytes(32) }])
  const file = join(dirname(databasePath), 'secrets.key')
  if (!existsSync(file))
    writeFileSync(file, `local:${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' })
  chmodSync(file, 0o600)
  return createSecretBox(parseKeys(readFileSync(file, 'utf8').trim()))
}
