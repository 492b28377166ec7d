/**
 * Plain-language lines about the TikTok connection, in the tab's language. The words live in the
 * settings catalogue (`tt_status_*` in src/settings/i18n/), so en, ru and vn are complete and
 * checked together with the tab's own strings; this module only fills their placeholders.
 */
import { fmt, type Lang, STRINGS } from '../settings/i18n.js'

export interface TikTokText {
  tokenInvalid: (name: string) => string
  lostAccess: (name: string) => string
  unreachable: (name: string, why: string) => string
  subscriptionLost: (name: string, why: string) => string
  recreated: string
  active: string
  notConfigured: string
  newQuestions: (form: string, qs: string[]) => string
  backfillFailed: (form: string, why: string) => string
}

export function tiktokText(lang: Lang): TikTokText {
  const s = STRINGS[lang]
  return {
    tokenInvalid: (name) => fmt(s.tt_status_token_invalid, { name }),
    lostAccess: (name) => fmt(s.tt_status_lost_access, { name }),
    unreachable: (name, why) => fmt(s.tt_status_unreachable, { name, why }),
    subscriptionLost: (name, why) => fmt(s.tt_status_subscription_lost, { name, why }),
    recreated: s.tt_status_recreated,
    active: s.tt_status_active,
    notConfigured: s.tt_status_not_configured,
    newQuestions: (form, qs) => fmt(s.tt_status_new_questions, { form, questions: qs.join(', ') }),
    backfillFailed: (form, why) => fmt(s.tt_status_backfill_failed, { form, why }),
  }
}
