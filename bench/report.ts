/** The bench's table: each figure beside its target, `-` for a phase that did not run. */

export interface ReportInput {
  results: Record<string, number>
  backlog: number
  backfillLeads: number
  operatingCosts: number[]
  basketS: number
}

export function printReport({ results, backlog, backfillLeads, operatingCosts, basketS }: ReportInput): void {
  const rows: Array<[string, string, string]> = [
    ['sustained_leads_per_s', `${results.sustained_leads_per_s}`, `>= 97 (97% of ${results.limit_leads_per_s})`],
    ['limit_leads_per_s', `${results.limit_leads_per_s}`, 'drain 2/s x 50 per batch'],
    ['rate_limit_errors', `${results.rate_limit_errors}`, '0'],
    ['lone_lead_latency_ms_p50', `${results.lone_lead_latency_ms_p50}`, '< 300'],
    ['lone_lead_latency_ms_p99', `${results.lone_lead_latency_ms_p99}`, ''],
    ['intake_req_per_s', `${results.intake_req_per_s}`, '>= 3000'],
    ['intake_ack_ms_p99', `${results.intake_ack_ms_p99}`, ''],
    ['portals', `${results.portals}`, '200'],
    ['portal_min_share', `${results.portal_min_share}`, '>= 0.9'],
    ['portal_median_share', `${results.portal_median_share}`, ''],
    ['rss_mb_with_backlog', `${results.rss_mb_with_backlog}`, `< 250 (${backlog.toLocaleString()} pending)`],
    [
      'backfill_leads_per_s',
      `${results.backfill_leads_per_s}`,
      `${backfillLeads.toLocaleString()} leads from a CSV export, request to all stored`,
    ],
    [
      'backfill_rss_mb_peak',
      `${results.backfill_rss_mb_peak}`,
      results.backfill_rss_mb_before === undefined ? '' : `before: ${results.backfill_rss_mb_before}`,
    ],
    ['backfill_rss_mb_delta', `${results.backfill_rss_mb_delta}`, 'peak - before'],
    ['backfill_zip_leads_per_s', `${results.backfill_zip_leads_per_s}`, 'the same export zipped'],
    ['backfill_zip_rss_mb_delta', `${results.backfill_zip_rss_mb_delta}`, 'peak - before'],
    ...operatingCosts.flatMap((cost): Array<[string, string, string]> => {
      const k = `operating_c${String(cost).replace('.', '')}`
      return [
        [
          `${k}_ratio`,
          `${results[`${k}_ratio`]}`,
          `>= 0.95: ${results[`${k}_leads_per_s`]} of ${results[`${k}_ceiling_leads_per_s`]} leads/s, c = ${cost} s per add; time scaled ${60 / basketS}x (basket ${basketS} s, window ${basketS * 10} s, limit ${basketS * 8} s), c unscaled`,
        ],
        [
          `${k}_refused`,
          `${results[`${k}_refused`]}`,
          `OPERATION_TIME_LIMIT answers (refused batches ${results[`${k}_refused_batches`]}, spins ${results[`${k}_spins`]}: target 0; ${results[`${k}_batches`]} batch calls)`,
        ],
        [
          `${k}_dropped`,
          `${results[`${k}_dropped`]}`,
          `0 (${results[`${k}_delivered`]} of ${results[`${k}_leads`]} delivered, ${results[`${k}_pending_at_stop`]} still queued for the next reset, duplicates ${results[`${k}_duplicates`]}: 0)`,
        ],
      ]
    }),
    ['web_js_gzip_kb', `${results.web_js_gzip_kb}`, '< 250 (settings tab: entry + static imports, gzip)'],
    ['web_css_gzip_kb', `${results.web_css_gzip_kb}`, ''],
    ['web_lazy_gzip_kb', `${results.web_lazy_gzip_kb}`, 'loaded on use (the chart)'],
    ['web_first_paint_ms', `${results.web_first_paint_ms}`, "the frame's first contentful paint, median of 5"],
    ['web_usable_ms', `${results.web_usable_ms}`, '< 1000 (open to counters shown, in the frame)'],
    ...(['campaign', 'adgroup', 'ad', 'form'] as const).map((level): [string, string, string] => [
      `analytics_${level}_ms`,
      `${results[`analytics_${level}_ms`]}`,
      `< 1000 (${results.analytics_leads?.toLocaleString()} leads${level === 'ad' ? `, ${results.analytics_ad_rows?.toLocaleString()} rows` : ''})`,
    ]),
    [
      'analytics_loop_max_ms',
      `${results.analytics_loop_max_ms}`,
      "the main thread's longest event-loop delay while the four queries ran (they run in a worker)",
    ],
    [
      'analytics_csv_ms',
      `${results.analytics_csv_ms}`,
      `ad level: ${results.analytics_csv_rows?.toLocaleString()} rows, ${results.analytics_csv_mb} MB`,
    ],
    [
      'analytics_csv_rss_mb_delta',
      `${results.analytics_csv_rss_mb_delta}`,
      `peak - before (${results.analytics_csv_rss_mb_before}); heap delta ${results.analytics_csv_heap_mb_delta}: streams`,
    ],
    ['web_shell_ms', `${results.web_shell_ms}`, 'the page shell received (user verified with Bitrix24 first)'],
    ['web_script_ms', `${results.web_script_ms}`, 'the entry script received'],
  ]
  const w = Math.max(...rows.map((r) => r[0].length))
  console.log(`${'metric'.padEnd(w)}  ${'value'.padStart(10)}  target`)
  for (const [k, v, target] of rows)
    console.log(`${k.padEnd(w)}  ${(v === 'undefined' ? '-' : v).padStart(10)}  ${target}`)
}
