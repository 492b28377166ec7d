import { nextTick } from 'vue'

/**
 * Runs an action started from a focused control and gives that control its focus back after.
 * b24ui's Button is disabled while `loading`, and a disabled button drops the focus to the page:
 * the keyboard user's next Enter or Space reaches nothing, and a screen reader loses its place.
 */
export async function keepFocus(run: () => unknown): Promise<void> {
  const from = document.activeElement
  try {
    await run()
  } finally {
    await nextTick()
    const now = document.activeElement
    if (from instanceof HTMLElement && from.isConnected && (now === null || now === document.body)) from.focus()
  }
}
