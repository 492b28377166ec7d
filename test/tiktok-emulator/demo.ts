/**
 * Demo pages for `npm run demo`: the advertisers and their forms, and each instant form as an
 * HTML form that a person fills in to make a lead (as if they tapped the ad on TikTok).
 * Not TikTok's API: the emulator's own pages.
 */
import type { FastifyInstance } from 'fastify'
import { escapeHtml, page } from './html.js'
import type { TikTokState } from './state.js'
import type { FormField } from './types.js'

function input(field: FormField, i: number): string {
  const name = escapeHtml(field.name)
  const id = `f${i}`
  const label = `<label for="${id}">${name}</label>`
  if (field.options && field.options.length > 0) {
    const multiple = field.type === 'MULTIPLE_CHOICE' ? ' multiple' : ''
    const options = field.options.map((o) => `<option>${escapeHtml(o)}</option>`).join('')
    return `<p>${label}<br><select id="${id}" name="${name}"${multiple}><option value=""></option>${options}</select></p>`
  }
  const type =
    field.type === 'EMAIL' ? 'email' : field.type === 'PHONE_NUMBER' ? 'tel' : field.type === 'DATE' ? 'date' : 'text'
  return `<p>${label}<br><input id="${id}" type="${type}" name="${name}"></p>`
}

export function registerDemo(
  app: FastifyInstance,
  state: TikTokState,
  submit: (pageId: string, answers: Record<string, string>) => { leadId: string },
): void {
  app.get('/demo', async (_request, reply) => {
    const items = [...state.advertisers.values()]
      .map((a) => {
        const forms = [...state.forms.values()]
          .filter((f) => f.advertiserId === a.id)
          .map(
            (f) =>
              `<li><a href="/demo/forms/${escapeHtml(f.pageId)}">${escapeHtml(f.title)}</a> (${f.leads.length} leads)</li>`,
          )
          .join('')
        return `<li>${escapeHtml(a.name)} <small>${escapeHtml(a.id)}</small><ul>${forms}</ul></li>`
      })
      .join('')
    return reply
      .type('text/html; charset=utf-8')
      .send(page('TikTok emulator', `<h1>Advertisers and instant forms</h1><ul>${items}</ul>`))
  })

  app.get('/demo/forms/:pageId', async (request, reply) => {
    const form = state.forms.get((request.params as { pageId: string }).pageId)
    if (!form) return reply.code(404).type('text/html; charset=utf-8').send(page('Not found', '<h1>No such form</h1>'))
    const fields = form.fields.map(input).join('')
    const body = `<h1>${escapeHtml(form.title)}</h1><form method="post">${fields}<button id="submit" type="submit">Submit</button></form>`
    return reply.type('text/html; charset=utf-8').send(page(form.title, body))
  })

  app.post('/demo/forms/:pageId', async (request, reply) => {
    const form = state.forms.get((request.params as { pageId: string }).pageId)
    if (!form) return reply.code(404).type('text/html; charset=utf-8').send(page('Not found', '<h1>No such form</h1>'))
    const posted = (request.body ?? {}) as Record<string, unknown>
    const answers: Record<string, string> = {}
    for (const field of form.fields) {
      const value = posted[field.name]
      const text = Array.isArray(value) ? value.join(', ') : typeof value === 'string' ? value : ''
      if (text !== '') answers[field.name] = text
    }
    const { leadId } = submit(form.pageId, answers)
    const body = `<h1 id="submitted">submitted</h1><p>Lead <code>${escapeHtml(leadId)}</code>.</p><p><a href="/demo">Back</a></p>`
    return reply.type('text/html; charset=utf-8').send(page('Submitted', body))
  })
}
