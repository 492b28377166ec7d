import { nextTick } from 'vue'

/**
 * Runs an action started from a focused control and gives that control its focus back after.
 * b24ui's Button is disabled while `loading`, and a disabled button drops the focus to the page:
 * a keyboard user who pressed Enter would have to Tab back from the top to press it again.
 */
export async function keepFocus<T>(run: () => Promise<T>): Promise<T> {
  const from = document.activeElement
  try {
    return await run()
  } finally {
    await nextTick()
    const now = document.activeElement
    if (from instanceof HTMLElement && from.isConnected && (now === null || now === document.body)) from.focus()
  }
}
