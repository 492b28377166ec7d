/**
 * Plain-language lines about the TikTok connection, in the tab's language (en, ru and vn
 * complete; each typed as the English one, so a missing line fails to compile).
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

const vn: typeof en = {
  tokenInvalid: (name) =>
    `TikTok không còn chấp nhận kết nối tới tài khoản quảng cáo “${name}” (quyền ủy quyền đã bị thu hồi hoặc đã hết hạn). Khách hàng tiềm năng từ tài khoản này sẽ dừng lại cho đến khi quản trị viên nhấn lại “Kết nối TikTok” và chọn tài khoản này.`,
  lostAccess: (name) =>
    `Người dùng TikTok đã kết nối không còn quyền truy cập vào tài khoản quảng cáo “${name}”. Hãy kết nối lại bằng một người dùng là quản trị viên của tài khoản đó.`,
  unreachable: (name, why) =>
    `Lần kiểm tra gần nhất của tài khoản quảng cáo “${name}” không kết nối được tới TikTok (${why}). Ứng dụng sẽ thử lại sau; khách hàng tiềm năng đến trong thời gian này vẫn được lưu giữ.`,
  subscriptionLost: (name, why) =>
    `TikTok đã từ chối đăng ký (lại) nhận khách hàng tiềm năng của tài khoản quảng cáo “${name}” (${why}).`,
  recreated:
    'Một đăng ký nhận khách hàng tiềm năng đã biến mất ở TikTok và đã được tạo lại trong lần kiểm tra hằng ngày.',
  active: 'Đã kết nối: TikTok gửi khách hàng tiềm năng của tài khoản này về đây.',
  notConfigured:
    'Kết nối TikTok chưa được cấu hình trên máy chủ này (TIKTOK_APP_ID / TIKTOK_APP_SECRET). Khách hàng tiềm năng vẫn có thể đến qua URL webhook bên dưới (các dịch vụ chuyển tiếp như Zapier hoặc Make).',
  newQuestions: (form, qs) =>
    `Biểu mẫu “${form}” có câu hỏi mới chưa được ánh xạ tới trường khách hàng tiềm năng nào: ${qs.join(', ')}. Câu trả lời của chúng được ghi vào phần bình luận cho đến khi bạn ánh xạ.`,
  backfillFailed: (form, why) =>
    `Không thể nhập khách hàng tiềm năng của biểu mẫu “${form}” từ TikTok: ${why}. Ứng dụng sẽ thử lại ở lần nhập hằng ngày tiếp theo.`,
}

export type TikTokText = typeof en
const TEXT: Record<Lang, TikTokText> = { en, ru, vn }
export const tiktokText = (lang: Lang): TikTokText => TEXT[lang]
