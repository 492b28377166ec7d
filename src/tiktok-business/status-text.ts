/**
 * Plain-language lines about the TikTok connection, in the tab's language. Vietnamese falls back
 * to English here, as the rest of the tab does for its longer texts.
 */
type Lang = 'en' | 'ru' | 'vn'

const en = {
  tokenInvalid: (name: string) =>
    `TikTok no longer accepts the connection to ad account "${name}" (the authorisation was revoked or has expired). Leads from it stop until an administrator presses "Connect TikTok" again and picks this account.`,
  lostAccess: (name: string) =>
    `The connected TikTok user no longer has access to ad account "${name}". Reconnect with a user who is an admin of the account.`,
  unreachable: (name: string, why: string) =>
    `The last check of ad account "${name}" could not reach TikTok (${why}). It is tried again later; leads that arrive meanwhile are kept.`,
  subscriptionLost: (name: string, why: string) =>
    `TikTok refused to (re)subscribe to the leads of ad account "${name}" (${why}).`,
  recreated: 'A lead subscription had vanished at TikTok and was re-created by the daily check.',
  active: "Connected: TikTok sends this account's leads here.",
  notConfigured:
    'The TikTok connection is not configured on this server (TIKTOK_APP_ID / TIKTOK_APP_SECRET). Leads can still arrive through the webhook URL below (forwarders such as Zapier or Make).',
  newQuestions: (form: string, qs: string[]) =>
    `The form "${form}" has new questions that are not mapped to a lead field: ${qs.join(', ')}. Their answers go to the comment until you map them.`,
  backfillFailed: (form: string, why: string) =>
    `Importing the leads of form "${form}" from TikTok failed: ${why}. It is tried again at the next daily import.`,
}

const ru: typeof en = {
  tokenInvalid: (name) =>
    `TikTok больше не принимает подключение к рекламному аккаунту «${name}» (авторизация отозвана или истекла). Лиды из него не приходят, пока администратор снова не нажмёт «Подключить TikTok» и не выберет этот аккаунт.`,
  lostAccess: (name) =>
    `У подключившего пользователя TikTok больше нет доступа к рекламному аккаунту «${name}». Переподключите его пользователем с правами администратора аккаунта.`,
  unreachable: (name, why) =>
    `Последняя проверка аккаунта «${name}» не смогла связаться с TikTok (${why}). Проверка повторится позже; пришедшие лиды сохраняются.`,
  subscriptionLost: (name, why) => `TikTok отказал в подписке на лиды аккаунта «${name}» (${why}).`,
  recreated: 'Подписка на лиды пропала в TikTok и была создана заново ежедневной проверкой.',
  active: 'Подключено: TikTok отправляет сюда лиды этого аккаунта.',
  notConfigured:
    'Подключение TikTok не настроено на этом сервере (TIKTOK_APP_ID / TIKTOK_APP_SECRET). Лиды по-прежнему могут приходить на URL вебхука ниже (через Zapier, Make и т. п.).',
  newQuestions: (form, qs) =>
    `В форме «${form}» появились вопросы без сопоставления с полем лида: ${qs.join(', ')}. Их ответы попадают в комментарий, пока вы их не сопоставите.`,
  backfillFailed: (form, why) =>
    `Не удалось загрузить лиды формы «${form}» из TikTok: ${why}. Попытка повторится при следующей ежедневной загрузке.`,
}

export type TikTokText = typeof en
export const tiktokText = (lang: Lang): TikTokText => (lang === 'ru' ? ru : en)
