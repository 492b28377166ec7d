/**
 * The app's registration facts, as data. The install handler binds exactly these,
 * README.md documents exactly these, and test/manifest.test.ts keeps the two in step.
 * Paths are relative to PUBLIC_URL.
 */
export const manifest = {
  code: 'b24_tiktok_leads',
  name: 'TikTok Leads',
  /** `im`: the health alerts (im.notify.system.add to the portal's administrators); a portal without it still gets leads. */
  scopes: ['crm', 'placement', 'user_brief', 'im'],
  paths: {
    /** Install URL: opened once in the portal's frame when an admin installs the app. */
    install: '/bitrix24/install',
    /** Handler URL: the app's main page (the DEFAULT placement, left menu → Applications). */
    handler: '/bitrix24/app',
    /** Where bound placements open: the settings tab (list menus) or a lead's card tab (detail tabs). */
    placement: '/bitrix24/placement',
    /** Where Bitrix24 delivers events (ONAPPINSTALL, ONAPPUNINSTALL, lead events). */
    events: '/bitrix24/events',
    /** TikTok posts leads here; `:key` is each portal's unguessable webhook key. */
    tiktokWebhook: '/tiktok/webhook/:key',
    /** TikTok redirects the admin here after "Connect TikTok" (register it as the developer app's redirect URL). */
    tiktokOAuthCallback: '/tiktok/oauth/callback',
  },
  placements: [
    {
      code: 'CRM_LEAD_LIST_MENU',
      /** CRM modes it is bound in (crm.settings.mode.get): the lead list exists in classic mode only */
      modes: [1],
      title: { en: 'TikTok leads', ru: 'Лиды из TikTok', vn: 'Khách hàng TikTok' },
      description: {
        en: 'TikTok Lead Generation: settings and delivery log',
        ru: 'TikTok Lead Generation: настройки и журнал доставки',
        vn: 'TikTok Lead Generation: cài đặt và nhật ký',
      },
    },
    {
      // Simple CRM mode (leads off): each TikTok lead becomes a contact and a deal, so the
      // settings open from the deal list. (The app's own page, paths.handler, is in both modes.)
      code: 'CRM_DEAL_LIST_MENU',
      modes: [2],
      title: { en: 'TikTok leads', ru: 'Лиды из TikTok', vn: 'Khách hàng TikTok' },
      description: {
        en: 'TikTok Lead Generation: settings and delivery log',
        ru: 'TikTok Lead Generation: настройки и журнал доставки',
        vn: 'TikTok Lead Generation: cài đặt và nhật ký',
      },
    },
    {
      // A tab in the lead card: that lead's TikTok story (form, ad, answers, delivery, the events
      // sent back to TikTok). PLACEMENT_OPTIONS carries the card's {"ID": "<lead id>"}.
      // @see https://apidocs.bitrix24.com/api-reference/widgets/crm/detail-tab.html
      code: 'CRM_LEAD_DETAIL_TAB',
      modes: [1],
      title: { en: 'TikTok', ru: 'TikTok', vn: 'TikTok' },
      description: {
        en: "The lead's TikTok form, ad, answers and delivery",
        ru: 'Форма, объявление, ответы и доставка лида из TikTok',
        vn: 'Biểu mẫu, quảng cáo, câu trả lời và việc gửi của khách hàng tiềm năng TikTok',
      },
    },
    {
      // Simple CRM mode: the TikTok lead is a deal, so its story is a tab in the deal card.
      code: 'CRM_DEAL_DETAIL_TAB',
      modes: [2],
      title: { en: 'TikTok', ru: 'TikTok', vn: 'TikTok' },
      description: {
        en: "The lead's TikTok form, ad, answers and delivery",
        ru: 'Форма, объявление, ответы и доставка лида из TikTok',
        vn: 'Biểu mẫu, quảng cáo, câu trả lời và việc gửi của khách hàng tiềm năng TikTok',
      },
    },
  ],
  events: ['ONAPPINSTALL', 'ONAPPUNINSTALL', 'ONAPPUPDATE', 'ONCRMLEADUPDATE'],
  /**
   * Bound as offline events (no handler: the portal queues the changes and the app collects them
   * with event.offline.get), so no stage change is lost while the app is down; our own writes pass
   * `offlineAuthConnector` and stay out of that queue. `modes`: the CRM modes it is bound in (deals
   * are what we make in simple mode only; in classic mode every deal change would fill our queue).
   * Never unbound, so a mode switch back keeps the deals we made tracked. Activities in both
   * modes: a completed one (a to-do ticked off: UPDATE; a call or an e-mail logged done: ADD) is a
   * first contact, and the queue keeps one record per activity, read for all of a round at once.
   * @see https://apidocs.bitrix24.com/api-reference/events/offline-events.html
   * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/events/on-crm-activity-add.html
   * @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/events/on-crm-activity-update.html
   */
  offlineEvents: [
    { event: 'ONCRMLEADUPDATE', modes: [1, 2] },
    { event: 'ONCRMDEALUPDATE', modes: [2] },
    { event: 'ONCRMACTIVITYADD', modes: [1, 2] },
    { event: 'ONCRMACTIVITYUPDATE', modes: [1, 2] },
  ],
  offlineAuthConnector: 'b24_tiktok_leads',
} as const

export type Manifest = typeof manifest
