/**
 * Access and refresh tokens of the one registered app, across all portals.
 *
 * Access tokens live `tokenTtlSec` (1 h); refresh tokens `refreshTtlSec` and are single-use:
 * each refresh answers a new pair and invalidates the refresh token it used. The old access
 * token keeps working until it expires.
 *
 * @see settings/oauth/auto-renewal.md (b24restdocs)
 */
import { randomBytes } from 'node:crypto'
import type { IssuedTokens } from './types/records.js'

interface AccessRecord {
  memberId: string
  userId: number
  expiresAt: number
  revoked: boolean
}

interface RefreshRecord {
  memberId: string
  userId: number
  expiresAt: number
  used: boolean
  revoked: boolean
}

export type AccessCheck =
  | { ok: true; memberId: string; userId: number }
  | { ok: false; reason: 'invalid_token' | 'expired_token' }

export type RefreshCheck =
  | { ok: true; memberId: string; userId: number }
  | { ok: false; reason: 'unknown' | 'used' | 'expired' | 'revoked' }

/** Tokens look like the portal's: 64+ hex characters. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex')
}

export class TokenStore {
  private readonly access = new Map<string, AccessRecord>()
  private readonly refresh = new Map<string, RefreshRecord>()

  constructor(
    private readonly now: () => number,
    private readonly tokenTtlSec: number,
    private readonly refreshTtlSec: number,
  ) {}

  issue(memberId: string, userId: number): IssuedTokens {
    const at = this.now()
    const accessToken = randomHex(35)
    const refreshToken = randomHex(35)
    const expiresAt = at + this.tokenTtlSec * 1000
    this.access.set(accessToken, { memberId, userId, expiresAt, revoked: false })
    this.refresh.set(refreshToken, {
      memberId,
      userId,
      expiresAt: at + this.refreshTtlSec * 1000,
      used: false,
      revoked: false,
    })
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      expires: Math.floor(expiresAt / 1000),
      expires_in: this.tokenTtlSec,
    }
  }

  checkAccess(token: string): AccessCheck {
    const record = this.access.get(token)
    if (!record || record.revoked) return { ok: false, reason: 'invalid_token' }
    if (this.now() >= record.expiresAt) return { ok: false, reason: 'expired_token' }
    return { ok: true, memberId: record.memberId, userId: record.userId }
  }

  /** Consumes a refresh token; the caller issues the new pair. */
  useRefresh(token: string): RefreshCheck {
    const record = this.refresh.get(token)
    if (!record) return { ok: false, reason: 'unknown' }
    if (record.revoked) return { ok: false, reason: 'revoked' }
    if (record.used) return { ok: false, reason: 'used' }
    if (this.now() >= record.expiresAt) return { ok: false, reason: 'expired' }
    record.used = true
    return { ok: true, memberId: record.memberId, userId: record.userId }
  }

  peekRefresh(token: string): { memberId: string; userId: number } | undefined {
    const record = this.refresh.get(token)
    return record ? { memberId: record.memberId, userId: record.userId } : undefined
  }

  expireAll(): void {
    const at = this.now()
    for (const record of this.access.values()) record.expiresAt = Math.min(record.expiresAt, at)
  }

  /** Uninstall: every token of the portal stops working. */
  revokePortal(memberId: string): void {
    for (const record of this.access.values()) if (record.memberId === memberId) record.revoked = true
    for (const record of this.refresh.values()) if (record.memberId === memberId) record.revoked = true
  }
}
