// Tell the settings tab (the window that opened this popup, same origin) how the TikTok
// authorisation ended, then close. Data comes from the page's data attributes, never inline script.
;(() => {
  var el = document.getElementById('tiktok-oauth-result')
  if (!el) return
  var ok = el.getAttribute('data-ok') === '1'
  var message = el.getAttribute('data-message') || ''
  try {
    if (window.opener && !window.opener.closed) {
      window.opener.postMessage(
        { source: 'b24-tiktok-leads', type: 'tiktok-oauth', ok: ok, message: message },
        window.location.origin,
      )
      setTimeout(
        () => {
          window.close()
        },
        ok ? 800 : 4000,
      )
    }
  } catch {
    // opener from another origin or gone: the page itself says what happened
  }
})()
