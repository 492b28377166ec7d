/**
 * A small JSON control API under `/_emulator/` for an emulator running in another process
 * (`npm run emulator`, the demo, benchmarks). Not part of Bitrix24: in-process tests call the
 * Emulator methods directly.
 *
 *   GET  /_emulator/portals
 *   POST /_emulator/portals                         CreatePortalInput
 *   POST /_emulator/portals/:memberId/install       { installUrl, eventHandlerUrl?, userId?, status? }
 *   POST /_emulator/portals/:memberId/placement     { url, placement?, options?, userId? }
 *   POST /_emulator/portals/:memberId/detail-tab    { entity: lead|deal, id, userId?, handler? }
 *   POST /_emulator/portals/:memberId/events        { event, data, applicationToken?, url? }
 *   POST /_emulator/portals/:memberId/uninstall     { clean? }
 *   POST /_emulator/portals/:memberId/user-fields   UserFieldInput
 *   GET  /_emulator/portals/:memberId/leads
 *   GET  /_emulator/portals/:memberId/notifications[?userId=]
 *   GET  /_emulator/portals/:memberId/activities[?ownerTypeId=&ownerId=]
 *   POST /_emulator/portals/:memberId/move           { kind: 'lead'|'deal', id, stage, userId? }
 *   POST /_emulator/portals/:memberId/complete-activity  { id, userId? }
 *   POST /_emulator/portals/:memberId/edit           { kind: 'lead'|'deal', id, fields, userId? }
 *   POST /_emulator/portals/:memberId/log-call       { ownerTypeId, ownerId, startedAt, endedAt, subject?, userId? }
 *   POST /_emulator/faults    { failNext?: {n, kind, method?, memberId?}, latencyMs?, refreshFails?, expireAllTokens?, events?: {loseNext?, delayMs?, reorder?}, clear? }
 *   POST /_emulator/faults    … failCommands?: {n, code, method?, memberId?}  (one batch command's result_error)
 *   POST /_emulator/operating OperatingOptions (limitSec, basketSec, costSec, realTime, maxRequestSec; merged)
 *   GET  /_emulator/calls
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isPlainObject } from './php-query.js'
import type { UserFieldInput } from './types/crm.js'
import type { CreatePortalInput, Emulator, InstallAppInput, OpenDetailTabInput, Portal } from './types/emulator.js'
import type { FaultKind, RefreshFault } from './types/faults.js'
import type { OperatingOptions } from './types/options.js'

/** Where the control API lives on the emulator's server. */
export const CONTROL_PATH = '/_emulator'

type Controlled = Emulator & { listPortals(): Portal[] }

function json(request: FastifyRequest): Record<string, unknown> {
  if (typeof request.body !== 'string' || request.body.trim() === '') return {}
  try {
    const parsed: unknown = JSON.parse(request.body)
    return isPlainObject(parsed) ? parsed : {}
  } catch {
    return {}
  }
}

function describe(portal: Portal): Record<string, unknown> {
  return {
    memberId: portal.memberId,
    domain: portal.domain,
    clientEndpoint: portal.clientEndpoint,
    serverEndpoint: portal.serverEndpoint,
    installed: portal.installed,
    applicationToken: portal.applicationToken,
    plan: portal.plan,
    crmMode: portal.crmMode,
    leads: portal.leads.size,
  }
}

export function registerControl(app: FastifyInstance, emu: Controlled): void {
  const withPortal =
    (run: (portal: Portal, body: Record<string, unknown>) => Promise<unknown> | unknown) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const { memberId } = request.params as { memberId: string }
      const portal = emu.portal(memberId)
      if (!portal) return reply.code(404).send({ error: 'no such portal' })
      try {
        return reply.send(await run(portal, json(request)))
      } catch (err) {
        return reply.code(400).send({ error: err instanceof Error ? err.message : String(err) })
      }
    }

  app.get(`${CONTROL_PATH}/portals`, async () => emu.listPortals().map(describe))
  app.post(`${CONTROL_PATH}/portals`, async (request) => describe(emu.createPortal(json(request) as CreatePortalInput)))
  app.post(
    `${CONTROL_PATH}/portals/:memberId/install`,
    withPortal((portal, body) => emu.installApp(portal, body as unknown as InstallAppInput)),
  )
  app.post(
    `${CONTROL_PATH}/portals/:memberId/placement`,
    withPortal((portal, body) => emu.openPlacement(portal, body as { url: string })),
  )
  app.post(
    `${CONTROL_PATH}/portals/:memberId/detail-tab`,
    withPortal((portal, body) => emu.openDetailTab(portal, body as unknown as OpenDetailTabInput)),
  )
  app.post(
    `${CONTROL_PATH}/portals/:memberId/events`,
    withPortal((portal, body) =>
      emu.deliverEvent(portal, String(body['event'] ?? ''), isPlainObject(body['data']) ? body['data'] : {}, {
        ...(typeof body['applicationToken'] === 'string' ? { applicationToken: body['applicationToken'] } : {}),
        ...(typeof body['url'] === 'string' ? { url: body['url'] } : {}),
      }),
    ),
  )
  app.post(
    `${CONTROL_PATH}/portals/:memberId/uninstall`,
    withPortal((portal, body) => emu.uninstallApp(portal, { clean: body['clean'] === true })),
  )
  app.post(
    `${CONTROL_PATH}/portals/:memberId/user-fields`,
    withPortal((portal, body) => {
      portal.addUserField(body as unknown as UserFieldInput)
      return portal.userFields
    }),
  )
  app.get(
    `${CONTROL_PATH}/portals/:memberId/leads`,
    withPortal((portal) => [...portal.leads.values()]),
  )
  const query = (request: FastifyRequest, name: string): number | undefined => {
    const value = (request.query as Record<string, unknown>)[name]
    return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined
  }
  app.get(`${CONTROL_PATH}/portals/:memberId/notifications`, async (request, reply) => {
    const portal = emu.portal((request.params as { memberId: string }).memberId)
    if (!portal) return reply.code(404).send({ error: 'no such portal' })
    return portal.notifications(query(request, 'userId'))
  })
  app.get(`${CONTROL_PATH}/portals/:memberId/activities`, async (request, reply) => {
    const portal = emu.portal((request.params as { memberId: string }).memberId)
    if (!portal) return reply.code(404).send({ error: 'no such portal' })
    return portal.activities(query(request, 'ownerTypeId'), query(request, 'ownerId'))
  })
  app.post(
    `${CONTROL_PATH}/portals/:memberId/move`,
    withPortal((portal, body) => {
      const opts = typeof body['userId'] === 'number' ? { userId: body['userId'] } : {}
      const move = body['kind'] === 'deal' ? emu.moveDeal.bind(emu) : emu.moveLead.bind(emu)
      move(portal, Number(body['id']), String(body['stage'] ?? ''), opts)
      return { ok: true }
    }),
  )
  app.post(
    `${CONTROL_PATH}/portals/:memberId/complete-activity`,
    withPortal((portal, body) => {
      emu.completeActivity(
        portal,
        Number(body['id']),
        typeof body['userId'] === 'number' ? { userId: body['userId'] } : {},
      )
      return { ok: true }
    }),
  )
  app.post(
    `${CONTROL_PATH}/portals/:memberId/edit`,
    withPortal((portal, body) => {
      const opts = typeof body['userId'] === 'number' ? { userId: body['userId'] } : {}
      const fields = isPlainObject(body['fields'])
        ? Object.fromEntries(Object.entries(body['fields']).map(([k, v]) => [k, String(v)]))
        : {}
      const edit = body['kind'] === 'deal' ? emu.editDeal.bind(emu) : emu.editLead.bind(emu)
      edit(portal, Number(body['id']), fields, opts)
      return { ok: true }
    }),
  )
  app.post(
    `${CONTROL_PATH}/portals/:memberId/log-call`,
    withPortal((portal, body) => {
      const id = emu.logCall(
        portal,
        {
          ownerTypeId: Number(body['ownerTypeId']),
          ownerId: Number(body['ownerId']),
          startedAt: Number(body['startedAt']),
          endedAt: Number(body['endedAt']),
          ...(typeof body['subject'] === 'string' ? { subject: body['subject'] } : {}),
        },
        typeof body['userId'] === 'number' ? { userId: body['userId'] } : {},
      )
      return { id }
    }),
  )
  app.post(`${CONTROL_PATH}/faults`, async (request) => {
    const body = json(request)
    if (body['clear'] === true) emu.faults.clear()
    const fail = body['failNext']
    if (isPlainObject(fail)) {
      emu.faults.failNext(Number(fail['n'] ?? 1), fail['kind'] as FaultKind, {
        ...(typeof fail['method'] === 'string' ? { method: fail['method'] } : {}),
        ...(typeof fail['memberId'] === 'string' ? { memberId: fail['memberId'] } : {}),
      })
    }
    const failCommands = body['failCommands']
    if (isPlainObject(failCommands)) {
      emu.faults.failCommands(Number(failCommands['n'] ?? 1), String(failCommands['code'] ?? ''), {
        ...(typeof failCommands['method'] === 'string' ? { method: failCommands['method'] } : {}),
        ...(typeof failCommands['memberId'] === 'string' ? { memberId: failCommands['memberId'] } : {}),
      })
    }
    if (typeof body['latencyMs'] === 'number') emu.faults.latencyMs = body['latencyMs']
    if (body['refreshFails'] !== undefined) emu.faults.refreshFails = body['refreshFails'] as RefreshFault
    if (body['expireAllTokens'] === true) emu.faults.expireAllTokens()
    const events = body['events']
    if (isPlainObject(events)) {
      if (typeof events['loseNext'] === 'number') emu.faults.events.loseNext = events['loseNext']
      if (typeof events['delayMs'] === 'number') emu.faults.events.delayMs = events['delayMs']
      if (typeof events['reorder'] === 'boolean') emu.faults.events.reorder = events['reorder']
    }
    return { ok: true }
  })
  app.post(`${CONTROL_PATH}/operating`, async (request) => {
    emu.setOperating(json(request) as OperatingOptions)
    return { ok: true }
  })
  app.get(`${CONTROL_PATH}/calls`, async () => emu.calls)
}
