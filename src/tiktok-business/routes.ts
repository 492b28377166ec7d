import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { manifest } from '../../manifest/app.js'
import { pickLang } from '../settings/i18n.js'
import { ConnectRefused } from './authorisation.js'

/** TikTok's redirect after the advertiser approved (or not). Extra parameters are ignored. */
const CallbackQuery = z.object({
  state: z.string().max(1024).optional(),
  auth_code: z.string().max(512).optional(),
  code: z.string().max(512).optional(),
  lang: z.string().max(8).optional(),
})

const TEXT = {
  en: {
    ok: (n: number) =>
      `TikTok access granted for ${n} ad account(s). Return to the Bitrix24 tab to pick the accounts and forms.`,
    forged_state: 'This link is not valid (forged or expired). Press "Connect TikTok" in the Bitrix24 tab again.',
    replayed_state:
      'This authorisation was already used or has expired. Press "Connect TikTok" in the Bitrix24 tab again.',
    denied: 'TikTok did not grant access. Nothing was changed.',
    portal_gone: 'The app is no longer installed on this Bitrix24 portal.',
    exchange_failed: (why: string) =>
      `TikTok did not accept the authorisation (${why}). Nothing was changed; try again.`,
    title: 'Connect TikTok',
    close: 'You can close this window.',
    not_configured: 'The TikTok connection is not configured on this server.',
  },
  ru: {
    ok: (n: number) =>
      `Доступ TikTok предоставлен для рекламных аккаунтов: ${n}. Вернитесь во вкладку Bitrix24, чтобы выбрать аккаунты и формы.`,
    forged_state:
      'Ссылка недействительна (подделана или устарела). Снова нажмите «Подключить TikTok» во вкладке Bitrix24.',
    replayed_state:
      'Эта авторизация уже использована или устарела. Снова нажмите «Подключить TikTok» во вкладке Bitrix24.',
    denied: 'TikTok не предоставил доступ. Ничего не изменено.',
    portal_gone: 'Приложение больше не установлено на этом портале Bitrix24.',
    exchange_failed: (why: string) => `TikTok не принял авторизацию (${why}). Ничего не изменено; попробуйте ещё раз.`,
    title: 'Подключение TikTok',
    close: 'Это окно можно закрыть.',
    not_configured: 'Подключение TikTok на этом сервере не настроено.',
  },
  vn: {
    ok: (n: number) =>
      `Đã cấp quyền truy cập TikTok cho ${n} tài khoản quảng cáo. Hãy quay lại thẻ Bitrix24 để chọn tài khoản và biểu mẫu.`,
    forged_state:
      'Liên kết này không hợp lệ (bị giả mạo hoặc đã hết hạn). Hãy nhấn lại “Kết nối TikTok” trong thẻ Bitrix24.',
    replayed_state:
      'Lần ủy quyền này đã được sử dụng hoặc đã hết hạn. Hãy nhấn lại “Kết nối TikTok” trong thẻ Bitrix24.',
    denied: 'TikTok không cấp quyền truy cập. Không có gì bị thay đổi.',
    portal_gone: 'Ứng dụng không còn được cài đặt trên cổng Bitrix24 này.',
    exchange_failed: (why: string) => `TikTok không chấp nhận ủy quyền (${why}). Không có gì bị thay đổi; hãy thử lại.`,
    title: 'Kết nối TikTok',
    close: 'Bạn có thể đóng cửa sổ này.',
    not_configured: 'Kết nối TikTok chưa được cấu hình trên máy chủ này.',
  },
}

/**
 * The OAuth redirect target. It runs in the popup the settings tab opened (a top-level window, so
 * TikTok's page is never framed), tells the tab through postMessage (same origin as the tab's
 * frame) and closes itself. Every refusal changes nothing and says why.
 * @see https://business-api.tiktok.com/portal/docs (authorisation)
 */
export async function tiktokOAuthRoutes(app: FastifyInstance): Promise<void> {
  // An HTML page for the popup, not part of the JSON API; its query is read leniently (a bad one says why on the page).
  app.get(manifest.paths.tiktokOAuthCallback, { schema: { hide: true } }, async (request, reply) => {
    const parsed = CallbackQuery.safeParse(request.query ?? {})
    const q = parsed.success ? parsed.data : {}
    const lang = pickLang(q.lang)
    const t = TEXT[lang]
    let ok = false
    let message: string
    if (!app.tiktok.connector) {
      message = t.not_configured
    } else {
      try {
        const { advertisers } = await app.tiktok.connector.finishConnect({
          state: q.state,
          auth_code: q.auth_code ?? q.code,
        })
        ok = true
        message = t.ok(advertisers.length)
      } catch (err) {
        if (!(err instanceof ConnectRefused)) throw err
        request.log.warn({ why: err.why }, 'TikTok authorisation refused')
        message = err.why === 'exchange_failed' ? t.exchange_failed(err.message) : t[err.why]
      }
    }
    reply.header(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    )
    reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
    return reply
      .code(ok ? 200 : 400)
      .type('text/html; charset=utf-8')
      .view('tiktok-callback.eta', {
        ok,
        message,
        title: t.title,
        close: t.close,
        lang: lang === 'vn' ? 'vi' : lang,
      })
  })
}
