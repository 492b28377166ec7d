/**
 * What the bench sends and reads: signed TikTok webhook bodies of n leads, the portal's webhook
 * key and secret from the app's database, installs on the emulator, when each lead reached it,
 * and pending leads seeded straight into the database.
 */
import { Agent, request } from 'node:http'
import SQLite from 'better-sqlite3'
import { secretBoxFor } from '../src/crypto/secret-box.js'
import { signTikTokSignature } from '../src/tiktok/verify.js'
import type { Emulator, Portal } from '../test/emulator/index.js'
import { storedLead } from '../test/fixtures.js'

export const agent = new Agent({ keepAlive: true, maxSockets: 64 })
function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

let seq = 0
const nextId = () => `7300${String(Date.now()).slice(-9)}${String(++seq).padStart(6, '0')}`
export function body(n: number): { text: string; ids: string[] } {
  const ids = Array.from({ length: n }, nextId)
  const entries = ids.map(
    (id) =>
      `{"id":${id},"lead_source":"INSTANT_FORM","form_name":"Bench form","campaign_id":1790000000000000003,"campaign_name":"Bench campaign","ad_id":1790000000000000005,"ad_name":"Ad","create_time":${Math.floor(Date.now() / 1000)},"changes":[{"field":"name","value":"Bench Lead"},{"field":"phone_number","value":"+84912345678"},{"field":"email","value":"bench@example.com"},{"field":"What do you need?","value":"A quote"}]}`,
  )
  return { text: `{"object":1,"entry":[${entries.join(',')}]}`, ids }
}

export interface Hook {
  key: string
  secret: string
}
export function sendLeads(appUrl: string, hook: Hook, n: number): { done: Promise<number>; ids: string[] } {
  const b = body(n)
  const sig = signTikTokSignature(hook.secret, b.text, Math.floor(Date.now() / 1000))
  return { done: post(`${appUrl}/tiktok/webhook/${hook.key}`, b.text, { 'tiktok-signature': sig }), ids: b.ids }
}

export function hookOf(dbPath: string, memberId: string): Hook {
  const db = new SQLite(dbPath, { readonly: true })
  const row = db
    .prepare('select webhook_key key, signing_secret secret from portal_settings where member_id = ?')
    .get(memberId) as Hook
  db.close()
  // The secret is stored sealed; the app's key file sits beside its database.
  return { ...row, secret: secretBoxFor(undefined, dbPath).open(row.secret) }
}

export async function install(emu: Emulator, appUrl: string): Promise<Portal> {
  const p = emu.createPortal()
  const r = await emu.installApp(p, { installUrl: `${appUrl}/bitrix24/install` })
  if (r.status !== 200) throw new Error(`install failed ${r.status} ${r.body}`)
  return p
}

/** When each lead (by ORIGIN_ID) was created in the emulator. */
export function creationTimes(emu: Emulator, memberId: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const c of emu.calls) {
    if (c.memberId !== memberId || c.method !== 'crm.lead.add') continue
    const origin = (c.params as { fields?: { ORIGIN_ID?: string } }).fields?.ORIGIN_ID
    if (origin) out.set(String(origin), c.at)
  }
  return out
}

/** Pending leads written straight into the database (as if TikTok had delivered them while Bitrix24 was down). */
export function seed(dbPath: string, memberIds: string[], perPortal: number): void {
  const db = new SQLite(dbPath)
  db.pragma('journal_mode = WAL')
  const insert = db.prepare(
    "insert into leads (member_id, tiktok_lead_id, format, lead_json, raw_json, received_at, updated_at) values (?, ?, 'notification', ?, '{}', ?, ?)",
  )
  const now = Date.now()
  const many = db.transaction((m: string, from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = `8${String(i).padStart(12, '0')}${m.slice(0, 6)}`
      const lead = storedLead(id, {
        createdAt: new Date(now).toISOString(),
        formName: 'Seeded form',
        campaignId: '1790000000000000003',
        campaignName: 'Seeded campaign',
        adName: 'Ad',
        answers: [
          { key: 'name', value: 'Seeded Lead' },
          { key: 'phone_number', value: '+84912345678' },
          { key: 'email', value: 'seed@example.com' },
        ],
      })
      insert.run(m, id, JSON.stringify(lead), now, now)
    }
  })
  for (const m of memberIds) for (let i = 0; i < perPortal; i += 50_000) many(m, i, Math.min(perPortal, i + 50_000))
  db.close()
}
