/**
 * The Bitrix24 frame around the tab, through the JS SDK's UMD bundle (/static/b24jssdk.js, the
 * same file the install page uses): title, height fitted on every change, leads opened in a slider.
 * Outside a frame (a direct open, the tests' plain pages) every call is a no-op.
 */
interface B24Frame {
  parent: {
    setTitle(title: string): Promise<unknown>
    fitWindow(): Promise<unknown>
    message?: { send(command: string, params: Record<string, unknown>): Promise<unknown> }
  }
  slider: { openPath(url: string, width?: number): Promise<unknown> }
  dialog: { selectUser(): Promise<{ id?: number | string; name?: string } | null> }
}

declare global {
  interface Window {
    B24Js?: { initializeB24Frame(): Promise<B24Frame> }
  }
}

const INIT_TIMEOUT_MS = 5000

export interface Frame {
  /** framed by Bitrix24 (false: a direct open; the picker then is not offered) */
  framed: boolean
  openLead(url: string): void
  /** Bitrix24's own user picker; null when cancelled or not framed */
  selectUser(): Promise<{ id: number; name: string } | null>
}

/** `title`: the frame's title in Bitrix24; null leaves it alone (a tab inside a CRM card). */
export async function connectFrame(title: string | null): Promise<Frame> {
  const b24 = await init()
  if (!b24)
    return { framed: false, openLead: (url) => window.open(url, '_blank', 'noopener'), selectUser: async () => null }
  document.documentElement.classList.add('is-framed')
  if (title !== null) b24.parent.setTitle(title).catch(() => {})
  let last = 0
  let timer = 0
  // fitWindow() measures <html>, which never shrinks below the frame; the message takes any height.
  const fit = () => {
    const height = Math.ceil(document.body.scrollHeight)
    if (Math.abs(height - last) < 2) return
    last = height
    const sent = b24.parent.message
      ? b24.parent.message.send('resizeWindow', { width: '100%', height, isSafely: true })
      : b24.parent.fitWindow()
    sent.catch(() => {})
  }
  new ResizeObserver(() => {
    clearTimeout(timer)
    timer = window.setTimeout(fit, 50)
  }).observe(document.body)
  fit()
  return {
    framed: true,
    openLead: (url) => {
      b24.slider.openPath(url, 950).catch(() => window.open(url, '_blank', 'noopener'))
    },
    selectUser: async () => {
      const user = await b24.dialog.selectUser()
      return user?.id ? { id: Number(user.id), name: user.name || `#${user.id}` } : null
    },
  }
}

async function init(): Promise<B24Frame | null> {
  if (window.parent === window || !window.B24Js) return null
  try {
    return await Promise.race([
      window.B24Js.initializeB24Frame(),
      new Promise<never>((_resolve, reject) => {
        setTimeout(() => reject(new Error('no answer from Bitrix24')), INIT_TIMEOUT_MS)
      }),
    ])
  } catch {
    return null
  }
}
