/** The few HTML pages the emulator serves (auth page, demo). No scripts: plain forms. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title>` +
    '<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto}li{margin:.3rem 0}</style>' +
    `</head><body>${body}</body></html>`
  )
}
