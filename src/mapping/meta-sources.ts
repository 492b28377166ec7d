/**
 * Lead metadata a mapping rule can read besides the answers. Its own module, free of zod and the
 * phone library, because the settings tab's script (src/web/mapping/model.ts) imports it too.
 */
export const META_SOURCES = [
  'meta.form_name',
  'meta.form_id',
  'meta.campaign_name',
  'meta.campaign_id',
  'meta.adgroup_name',
  'meta.adgroup_id',
  'meta.ad_name',
  'meta.ad_id',
  'meta.page_name',
  'meta.advertiser_name',
  'meta.lead_id',
  'meta.created_at',
] as const
export type MetaSource = (typeof META_SOURCES)[number]

export function isMetaSource(source: string): source is MetaSource {
  return (META_SOURCES as readonly string[]).includes(source)
}
