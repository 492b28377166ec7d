import { type InjectionKey, inject, reactive } from 'vue'
import type { MappingConfig } from '../mapping/schemas.js'
import type { StateView, TikTokView } from '../settings/schemas.js'
import type { Editor } from './mapping/model.js'

/**
 * What the screens share. B24Tabs unmounts a hidden tab's screen, so a screen that reads the
 * page's initial state shows it as it was at page load; screens read the latest answers here
 * instead, and put what they learn here.
 */
export interface Store {
  /** the latest GET /api/settings/state answer (the page's own until then) */
  state: StateView
  /** the latest TikTok view (GET /api/settings/tiktok or a TikTok action's answer), null until one */
  tiktok: TikTokView | null
  /** a mapping the server saved by itself (a rule for a new lead field) that the mapping screen has not taken yet */
  serverMapping: MappingConfig | null
  /** the mapping screen's unsaved edits, kept while another tab is shown */
  mappingDraft: Editor | null
  /** the lead quality screen's unsaved edits per ad account (event set and stage → event), kept the same way */
  qualityDrafts: Record<string, QualityDraft>
  /** what the analytics screen was last asked for, so a return to it shows the same rows */
  analyticsChoice: AnalyticsChoice | null
}

/** An ad account's lead quality choices not saved yet: the event set (null: none) and each stage's event. */
export interface QualityDraft {
  eventSetId: string | null
  events: Record<string, string | null>
}

/** The analytics screen's choice: the level, a preset of days or custom dates (the last day included). */
export interface AnalyticsChoice {
  level: 'campaign' | 'adgroup' | 'ad' | 'form'
  period: string
  from: string
  through: string
}

export const STORE: InjectionKey<Store> = Symbol('store')

export function createStore(state: StateView): Store {
  return reactive<Store>({
    state,
    tiktok: null,
    serverMapping: null,
    mappingDraft: null,
    qualityDrafts: {},
    analyticsChoice: null,
  })
}

/** The store App.vue provides. */
export function useStore(): Store {
  const store = inject(STORE)
  if (!store) throw new Error('no store: App.vue provides it')
  return store
}
