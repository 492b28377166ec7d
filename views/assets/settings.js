/*
 * The settings tab's script (served as /static/settings.js). No dependencies; data is only ever
 * put into the page with textContent / DOM nodes, never as HTML.
 *
 * Boot data comes from <script type="application/json" id="boot"> (see views/settings.eta).
 * Every API call sends the signed session in X-Session; every POST also X-CSRF-Token. Inside
 * Bitrix24 the page talks to its parent frame through b24jssdk (global B24Js): it fits its
 * height, sets the slider title and opens lead cards in a Bitrix24 slider. Opened on its own,
 * it skips the SDK and opens lead links in a new tab.
 *
 * @see /work/shared/reference/bitrix24.md §8
 */
;(() => {
  var API = '/api/settings/'
  var POLL_MS = 2500
  var IDLE_POLL_MS = 15000
  var PREVIEW_DELAY_MS = 450
  var FRAME_INIT_TIMEOUT_MS = 5000
  var RESERVED_TARGETS = ['ID', 'ORIGINATOR_ID', 'ORIGIN_ID']
  var META_SOURCES = [
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
  ]
  var CONSTANT_KEYS = ['ASSIGNED_BY_ID', 'SOURCE_ID', 'STATUS_ID', 'OPENED']
  var PENDING = ['received', 'queued', 'sending']

  var boot = JSON.parse(document.getElementById('boot').textContent || '{}')
  var t = boot.strings || {}
  var state = boot.state
  var isAdmin = !!(state && state.user && state.user.isAdmin)
  var locale = boot.lang === 'vn' ? 'vi' : boot.lang || 'en'

  // ---------------------------------------------------------------- small helpers

  function $(id) {
    return document.getElementById(id)
  }

  /** A string with {placeholders} filled. */
  function fmt(template, values) {
    return String(template || '').replace(/\{(\w+)\}/g, (all, key) =>
      values && values[key] !== undefined && values[key] !== null ? String(values[key]) : all,
    )
  }

  /** Builds an element: props.text → textContent, props.class → className, on* → listeners. */
  function el(tag, props, children) {
    var node = document.createElement(tag)
    var p = props || {}
    Object.keys(p).forEach((k) => {
      var v = p[k]
      if (v === undefined || v === null || v === false) return
      if (k === 'text') node.textContent = String(v)
      else if (k === 'class') node.className = v
      else if (k.slice(0, 2) === 'on' && typeof v === 'function') node.addEventListener(k.slice(2), v)
      else if (k === 'value' || k === 'selected' || k === 'checked' || k === 'disabled' || k === 'hidden') node[k] = v
      else node.setAttribute(k, v === true ? '' : String(v))
    })
    ;[].concat(children === undefined ? [] : children).forEach((c) => {
      if (c === null || c === undefined || c === false) return
      node.append(c instanceof Node ? c : String(c))
    })
    return node
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild)
    return node
  }

  function option(value, label, selected) {
    return el('option', { value: String(value), text: label, selected: !!selected })
  }

  /** Admin-only controls are disabled, and say why, for everyone else. */
  function adminOnly(node) {
    node.setAttribute('data-admin', '')
    if (!isAdmin) {
      node.disabled = true
      node.title = t.readonly_hint
      if ($('ro-notice')) node.setAttribute('aria-describedby', 'ro-notice')
    }
    return node
  }

  var numberFmt = safe(() => new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }), null)
  var dateTimeFmt = safe(() => new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'medium' }), null)
  var dayFmt = safe(() => new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' }), null)
  var regionNames = safe(() => new Intl.DisplayNames([locale], { type: 'region' }), null)

  function safe(fn, fallback) {
    try {
      return fn()
    } catch {
      return fallback
    }
  }

  function num(n) {
    return numberFmt ? numberFmt.format(n) : String(n)
  }

  function fmtTime(iso) {
    if (!iso) return t.never
    var d = new Date(iso)
    if (Number.isNaN(d.getTime())) return String(iso)
    return dateTimeFmt ? dateTimeFmt.format(d) : d.toISOString()
  }

  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return '–'
    if (ms < 1000) return fmt(t.unit_ms, { n: Math.round(ms) })
    if (ms < 60000) return fmt(t.unit_s, { n: num(Math.round(ms / 100) / 10) })
    return fmt(t.unit_min, { n: num(Math.round(ms / 6000) / 10) })
  }

  function setTime(node, iso) {
    node.textContent = fmtTime(iso)
    node.setAttribute('datetime', iso || '')
  }

  /**
   * A result line: kind 'ok' | 'error' | 'info' | '' (clears it). `list` adds one item per line,
   * e.g. the portal's reasons for refusing a mapping.
   */
  function say(id, kind, text, list) {
    var node = $(id)
    if (!node) return
    clear(node)
    node.className = `line${kind ? ` line--${kind}` : ''}`
    if (kind === 'error') node.setAttribute('role', 'alert')
    else node.setAttribute('role', 'status')
    node.hidden = !text
    if (!text) return
    node.append(document.createTextNode(text))
    if (list && list.length) {
      node.append(
        el(
          'ul',
          null,
          list.map((x) => el('li', { text: x })),
        ),
      )
    }
  }

  /** Runs fn with the button marked busy; an admin-only button stays disabled for others. */
  async function busy(button, fn) {
    button.disabled = true
    button.setAttribute('aria-busy', 'true')
    try {
      return await fn()
    } finally {
      button.removeAttribute('aria-busy')
      button.disabled = button.hasAttribute('data-admin') && !isAdmin
    }
  }

  // ---------------------------------------------------------------- API

  function ApiError(message, data, status) {
    this.name = 'ApiError'
    this.message = message
    this.data = data
    this.status = status
  }
  ApiError.prototype = Object.create(Error.prototype)

  /** JSON API call with the session (and CSRF token on POST); 4xx/5xx throw with the server's message. */
  async function api(method, path, body) {
    var headers = { accept: 'application/json', 'X-Session': boot.session }
    var init = { method: method, headers: headers, cache: 'no-store', credentials: 'same-origin' }
    if (method === 'POST') {
      headers['X-CSRF-Token'] = boot.csrf
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(body === undefined ? {} : body)
    }
    var res
    try {
      res = await fetch(API + path, init)
    } catch {
      throw new ApiError(t.err_network, null, 0)
    }
    var data = null
    try {
      data = await res.json()
    } catch {
      data = null
    }
    if (!res.ok) {
      var message =
        data && typeof data.message === 'string' && data.message
          ? data.message
          : res.status === 401
            ? t.err_session
            : fmt(t.err_http, { status: res.status })
      throw new ApiError(message, data, res.status)
    }
    return data
  }

  function errText(e) {
    return e && e.message ? e.message : String(e)
  }

  // ---------------------------------------------------------------- Bitrix24 frame

  var b24 = null
  var lastHeight = 0
  var fitTimer = 0

  /** Connects to the parent Bitrix24 window, if there is one; never throws. */
  async function initFrame() {
    if (window.parent === window || !window.B24Js || typeof window.B24Js.initializeB24Frame !== 'function') return
    try {
      b24 = await Promise.race([
        window.B24Js.initializeB24Frame(),
        new Promise((_resolve, reject) => {
          setTimeout(() => {
            reject(new Error('no answer from Bitrix24'))
          }, FRAME_INIT_TIMEOUT_MS)
        }),
      ])
    } catch {
      b24 = null
      return
    }
    document.documentElement.classList.add('is-framed')
    b24.parent.setTitle(t.page_title).catch(() => {})
    if (isAdmin) $('pick-user').hidden = false
    if (typeof ResizeObserver === 'function') new ResizeObserver(scheduleFit).observe(document.body)
    fit()
  }

  function scheduleFit() {
    if (!b24) return
    clearTimeout(fitTimer)
    fitTimer = setTimeout(fit, 50)
  }

  /**
   * Asks Bitrix24 to make the frame as tall as the content. Measured on <body> (height: auto), not
   * on <html>, whose height never drops below the frame's, so the frame can shrink as well as grow.
   */
  function fit() {
    if (!b24) return
    var height = Math.ceil(document.body.scrollHeight)
    if (Math.abs(height - lastHeight) < 2) return
    lastHeight = height
    var parent = b24.parent
    // fitWindow() measures <html>, which cannot shrink; the message manager takes any height.
    var sent =
      parent.message && typeof parent.message.send === 'function'
        ? parent.message.send('resizeWindow', { width: '100%', height: height, isSafely: true })
        : parent.fitWindow()
    sent.catch(() => {})
  }

  /** A link to a Bitrix24 lead card: a Bitrix24 slider when framed, a new tab otherwise. */
  function leadLink(url, id) {
    return el('a', {
      href: url,
      target: '_blank',
      rel: 'noopener noreferrer',
      text: fmt(t.log_open_lead, { id: id }),
      onclick: (ev) => {
        if (!b24) return
        ev.preventDefault()
        b24.slider.openPath(url, 950).catch(() => {
          window.open(url, '_blank', 'noopener')
        })
      },
    })
  }

  function leadUrl(row) {
    if (row.b24LeadUrl) return row.b24LeadUrl
    return boot.leadUrlTemplate ? String(boot.leadUrlTemplate).replace('#ID#', String(row.b24LeadId)) : null
  }

  // ---------------------------------------------------------------- status

  /** The problems' title and a list `listId` of them, one item each (as text). */
  function appendProblems(box, listId, problems) {
    box.append(el('p', { class: 'problems__title', text: t.status_problems }))
    box.append(
      el(
        'ul',
        { class: 'problems', id: listId },
        problems.map((p) => el('li', { text: p })),
      ),
    )
  }

  function renderStatus(s) {
    state = s
    $('st-domain').textContent = s.portal.domain
    var token = $('st-token')
    var ok = s.portal.state === 'active'
    token.className = `pill ${ok ? 'pill--ok' : 'pill--bad'}`
    token.textContent = ok ? t.token_ok : s.portal.state === 'needs_reauth' ? t.token_reauth : t.token_uninstalled
    $('st-queue').textContent = fmt(t.queue_value, s.queue)
    setTime($('st-last-delivery'), s.lastDeliveryAt)
    setTime($('st-last-webhook'), s.webhook.lastWebhookAt)
    var health = clear($('st-health'))
    if (!s.problems.length) {
      health.append(el('p', { class: 'line line--ok', id: 'st-ok', text: t.status_all_good }))
    } else {
      appendProblems(health, 'st-problems', s.problems)
    }
    // What a TikTok lead becomes here: a lead, or (simple CRM, leads off) a contact and a deal.
    if (s.crm)
      health.append(
        el('p', { class: 'line', id: 'st-crm-mode', 'data-crm-mode': String(s.crm.mode || ''), text: s.crm.text }),
      )
    var w = s.webhook
    $('verify-last').textContent = w.lastDetail
      ? (w.lastScheme ? `${w.lastScheme}: ` : '') + w.lastDetail
      : t.verify_none
    $('webhook-url').value = w.url || t.webhook_admin_only
    $('webhook-copy').hidden = !w.url
    var prev = $('url-previous')
    prev.hidden = !w.previousUrlValidUntil
    prev.textContent = w.previousUrlValidUntil
      ? fmt(t.url_previous_until, { until: fmtTime(w.previousUrlValidUntil) })
      : ''
    if (revealed === null) $('secret').value = w.secretMasked || t.webhook_admin_only
  }

  async function refreshState() {
    try {
      renderStatus(await api('GET', 'state'))
      say('global-error', '', '')
    } catch (e) {
      say('global-error', 'error', errText(e))
    }
  }

  // ---------------------------------------------------------------- counters

  function renderCounters(blockId, bucket) {
    var block = $(blockId)
    var put = (k, v) => {
      block.querySelector(`[data-k="${k}"]`).textContent = v
    }
    put('received', num(bucket.received))
    put('delivered', num(bucket.delivered))
    put('duplicate', num(bucket.duplicate))
    put('failed', num(bucket.failed))
    put('median', fmtDuration(bucket.medianDeliveryMs))
  }

  var SVG = 'http://www.w3.org/2000/svg'

  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag)
    Object.keys(attrs || {}).forEach((k) => {
      node.setAttribute(k, String(attrs[k]))
    })
    ;[].concat(children || []).forEach((c) => {
      node.append(c instanceof Node ? c : document.createTextNode(String(c)))
    })
    return node
  }

  /** Stacked bars (delivered, duplicates, failed) per day, drawn as inline SVG. */
  function renderChart(days) {
    var W = 560
    var H = 150
    var left = 30
    var bottom = 20
    var top = 8
    var plotH = H - top - bottom
    var totals = days.map((d) => Math.max(d.received, d.delivered + d.duplicate + d.failed))
    var max = Math.max(1, Math.max.apply(null, totals))
    var step = Math.max(1, Math.ceil(max / 4))
    max = step * Math.ceil(max / step)
    var y = (v) => top + plotH - (v / max) * plotH
    var slot = (W - left) / days.length
    var barW = Math.min(38, slot * 0.6)
    var root = svg('svg', {
      viewBox: `0 0 ${W} ${H}`,
      role: 'img',
      'aria-labelledby': 'chart-title chart-desc',
      preserveAspectRatio: 'xMidYMid meet',
    })
    var desc = days
      .map((d) =>
        fmt(t.chart_day, {
          date: dayLabel(d.date),
          received: d.received,
          delivered: d.delivered,
          duplicate: d.duplicate,
          failed: d.failed,
        }),
      )
      .join('; ')
    root.append(svg('desc', { id: 'chart-desc' }, desc))
    for (var v = 0; v <= max; v += step) {
      root.append(svg('line', { x1: left, x2: W, y1: y(v), y2: y(v), stroke: '#e6e9eb', 'stroke-width': 1 }))
      root.append(svg('text', { x: left - 6, y: y(v) + 3, 'text-anchor': 'end' }, String(v)))
    }
    days.forEach((d, i) => {
      var x = left + i * slot + (slot - barW) / 2
      var g = svg('g', {}, [
        svg(
          'title',
          {},
          fmt(t.chart_day, {
            date: dayLabel(d.date),
            received: d.received,
            delivered: d.delivered,
            duplicate: d.duplicate,
            failed: d.failed,
          }),
        ),
      ])
      var base = 0
      ;['delivered', 'duplicate', 'failed'].forEach((k) => {
        if (!d[k]) return
        g.append(
          svg('rect', {
            class: `bar--${k}`,
            x: x,
            width: barW,
            y: y(base + d[k]),
            height: Math.max(1, y(base) - y(base + d[k])),
            rx: 2,
          }),
        )
        base += d[k]
      })
      if (d.received > base) {
        // received but not finished yet: an outline above the finished part
        g.append(
          svg('rect', {
            x: x + 0.5,
            width: barW - 1,
            y: y(d.received),
            height: Math.max(1, y(base) - y(d.received)),
            fill: 'none',
            stroke: '#2fc6f6',
            'stroke-dasharray': '3 2',
            rx: 2,
          }),
        )
      }
      g.append(svg('text', { x: x + barW / 2, y: H - 5, 'text-anchor': 'middle' }, dayLabel(d.date)))
      root.append(g)
    })
    clear($('chart-svg')).append(root)
  }

  function dayLabel(isoDate) {
    var d = new Date(`${isoDate}T00:00:00Z`)
    return dayFmt && !Number.isNaN(d.getTime()) ? dayFmt.format(d) : isoDate
  }

  async function loadStats() {
    try {
      var st = await api('GET', 'stats')
      renderCounters('counters-today', st.today)
      renderCounters('counters-week', st.week)
      renderChart(st.days)
      say('stats-error', '', '')
    } catch (e) {
      say('stats-error', 'error', fmt(t.stats_failed_load, { error: errText(e) }))
    }
  }

  // ---------------------------------------------------------------- TikTok connection

  /** The revealed secret, or null while it is masked. */
  var revealed = null

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text)
      return true
    } catch {
      // Inside an iframe without clipboard-write permission: the old way still works on a click.
      var area = el('textarea', { class: 'sr-only', readonly: true })
      area.value = text
      document.body.append(area)
      area.select()
      var ok = false
      try {
        ok = document.execCommand('copy')
      } catch {
        ok = false
      }
      area.remove()
      return ok
    }
  }

  async function copyFrom(inputId) {
    var ok = await copyText($(inputId).value)
    say('connection-result', ok ? 'ok' : 'error', ok ? t.copied : t.copy_failed)
    if (!ok) $(inputId).select()
  }

  function showSecret(secret) {
    revealed = secret
    $('secret').value = secret === null ? state.webhook.secretMasked || t.webhook_admin_only : secret
    var btn = $('secret-reveal')
    btn.textContent = secret === null ? t.reveal : t.hide
    btn.setAttribute('aria-pressed', secret === null ? 'false' : 'true')
    $('secret-copy').hidden = secret === null
  }

  async function toggleReveal() {
    if (revealed !== null) return showSecret(null)
    await busy($('secret-reveal'), async () => {
      try {
        var res = await api('POST', 'secret/reveal')
        showSecret(res.secret)
        say('connection-result', '', '')
      } catch (e) {
        say('connection-result', 'error', errText(e))
      }
    })
  }

  async function rotateSecret() {
    await busy($('rotate-do'), async () => {
      try {
        var res = await api('POST', 'secret/rotate')
        state.webhook.secretMasked = res.secretMasked
        $('rotate-confirm').hidden = true
        showSecret(revealed === null ? null : res.secret)
        say('connection-result', 'ok', fmt(t.rotated, { until: fmtTime(res.previousValidUntil) }))
        $('secret-rotate').focus()
      } catch (e) {
        say('connection-result', 'error', errText(e))
      }
    })
  }

  async function rotateUrl() {
    await busy($('url-rotate-do'), async () => {
      try {
        var res = await api('POST', 'webhook/rotate')
        state.webhook.url = res.url
        state.webhook.previousUrlValidUntil = res.previousValidUntil
        $('url-rotate-confirm').hidden = true
        $('webhook-url').value = res.url
        var prev = $('url-previous')
        prev.hidden = false
        prev.textContent = fmt(t.url_previous_until, { until: fmtTime(res.previousValidUntil) })
        say('connection-result', 'ok', fmt(t.url_rotated, { until: fmtTime(res.previousValidUntil) }))
        $('url-rotate').focus()
      } catch (e) {
        say('connection-result', 'error', errText(e))
      }
    })
  }

  function initConnection() {
    $('webhook-copy').addEventListener('click', () => {
      copyFrom('webhook-url')
    })
    $('secret-copy').addEventListener('click', () => {
      copyFrom('secret')
    })
    $('secret-reveal').addEventListener('click', toggleReveal)
    confirmable('secret-rotate', 'rotate-confirm', 'rotate-cancel', 'rotate-do', rotateSecret)
    confirmable('url-rotate', 'url-rotate-confirm', 'url-rotate-cancel', 'url-rotate-do', rotateUrl)
  }

  /** A button that first shows its confirmation box; cancel hides it again, "do" runs the action. */
  function confirmable(openId, boxId, cancelId, doId, action) {
    $(openId).addEventListener('click', () => {
      $(boxId).hidden = false
      $(cancelId).focus()
    })
    $(cancelId).addEventListener('click', () => {
      $(boxId).hidden = true
      $(openId).focus()
    })
    $(doId).addEventListener('click', action)
  }

  // ---------------------------------------------------------------- delivery options

  function initOptions() {
    var country = $('opt-country')
    if (regionNames) {
      Array.prototype.forEach.call(country.options, (o) => {
        if (!o.value) return
        var name = safe(() => regionNames.of(o.value), null)
        if (name && name !== o.value) o.textContent = `${name} (${o.value})`
      })
    }
    $('options-form').addEventListener('submit', async (ev) => {
      ev.preventDefault()
      if (!isAdmin) return
      var body = {
        dedup_policy: $('opt-dedup').value,
        rate_per_s: Number($('opt-rate').value),
        default_country: country.value || null,
        verify_mode: $('opt-verify').value,
        // '' = the server default, '0' = keep everything
        retention_days: $('opt-retention').value === '' ? null : Number($('opt-retention').value),
        name_order: $('opt-name-order').value,
      }
      await busy($('options-save'), async () => {
        try {
          var res = await api('POST', 'options', body)
          state.options = res.options
          say('options-result', 'ok', t.options_saved)
          refreshState()
          schedulePreview()
        } catch (e) {
          say('options-result', 'error', errText(e))
        }
      })
    })
  }

  // ---------------------------------------------------------------- mapping editor

  var fields = null // FieldsView once loaded
  var rules = [] // [{uid, source, target, other, enums: [{uid, answer, id}]}]
  var extraConstants = {} // constants this page has no control for: kept as they are
  var savedJson = ''
  var uidSeq = 0
  var previewTimer = 0
  var previewSeq = 0
  var lastPreviewLead = null

  function isKnownSource(source) {
    return (
      source === '' ||
      META_SOURCES.indexOf(source) >= 0 ||
      (state.questions || []).indexOf(source) >= 0 ||
      formQuestions().indexOf(source) >= 0
    )
  }

  /** A saved mapping rule as the editor holds it (each rule and list item with its own uid). */
  function ruleModel(r) {
    return {
      uid: ++uidSeq,
      source: r.source,
      target: r.target,
      other: !isKnownSource(r.source),
      enums: Object.keys(r.enumMap || {}).map((answer) => ({
        uid: ++uidSeq,
        answer: answer,
        id: String(r.enumMap[answer]),
      })),
    }
  }

  function loadMappingModel(mapping) {
    rules = (mapping.rules || []).map(ruleModel)
    extraConstants = {}
    Object.keys(mapping.constants || {}).forEach((k) => {
      if (CONSTANT_KEYS.indexOf(k) < 0) extraConstants[k] = mapping.constants[k]
    })
    savedJson = JSON.stringify(normalizedSaved())
  }

  /** The mapping as the page shows it; incomplete rules are left out (see problemsOf). */
  function currentMapping() {
    var out = { rules: [], constants: {} }
    rules.forEach((r) => {
      var source = String(r.source || '').trim()
      if (!source || !r.target) return
      var rule = { source: source, target: r.target }
      var field = fieldByCode(r.target)
      var enumMap = {}
      var any = false
      r.enums.forEach((e) => {
        if (e.answer.trim() && e.id) {
          enumMap[e.answer.trim()] = e.id
          any = true
        }
      })
      if (any && (!field || hasItems(field))) rule.enumMap = enumMap
      out.rules.push(rule)
    })
    Object.keys(extraConstants).forEach((k) => {
      out.constants[k] = extraConstants[k]
    })
    document.querySelectorAll('[data-const]').forEach((sel) => {
      var key = sel.getAttribute('data-const')
      if (!sel.value) return
      out.constants[key] = key === 'ASSIGNED_BY_ID' && /^\d+$/.test(sel.value) ? Number(sel.value) : sel.value
    })
    return out
  }

  function problemsOf() {
    var out = []
    rules.forEach((r, i) => {
      if (!String(r.source || '').trim() || !r.target) out.push(fmt(t.rule_incomplete, { n: i + 1 }))
    })
    return out
  }

  function fieldByCode(code) {
    if (!fields) return null
    for (var i = 0; i < fields.fields.length; i++) if (fields.fields[i].code === code) return fields.fields[i]
    return null
  }

  function hasItems(field) {
    return !!(field && field.items && field.items.length)
  }

  function fieldLabel(f) {
    var marks = []
    if (f.isRequired) marks.push(t.field_required)
    if (hasItems(f)) marks.push(t.field_list)
    if (f.isMultiple) marks.push(t.field_multiple)
    var title = f.title && f.title !== f.code ? `${f.title} (${f.code})` : f.code
    return marks.length ? `${title} · ${marks.join(', ')}` : title
  }

  function metaLabel(source) {
    return t[`meta_${source.slice(5)}`] || source
  }

  function markDirty() {
    // An error about the previous attempt no longer describes what is on screen.
    if ($('mapping-result').classList.contains('line--error')) say('mapping-result', '', '')
    var dirty = savedJson !== JSON.stringify(currentMapping()) || problemsOf().length > 0
    $('mapping-dirty').hidden = !dirty
    schedulePreview()
  }

  function sourceSelect(r) {
    var sel = el('select', { id: `r${r.uid}-source`, 'data-fk': `${r.uid}-source` })
    sel.append(option('', t.choose, !r.source && !r.other))
    var questions = (state.questions || []).slice()
    var answers = el('optgroup', { label: t.group_answers })
    questions.forEach((q) => {
      answers.append(option(q, q, !r.other && r.source === q))
    })
    if (questions.length) sel.append(answers)
    // the connected TikTok forms' questions no lead has answered yet
    var fromForms = formQuestions().filter((q) => questions.indexOf(q) < 0)
    if (fromForms.length) {
      sel.append(
        el(
          'optgroup',
          { label: t.group_form_questions },
          fromForms.map((q) => option(q, q, !r.other && r.source === q)),
        ),
      )
    }
    var meta = el('optgroup', { label: t.group_meta })
    META_SOURCES.forEach((m) => {
      meta.append(option(m, metaLabel(m), !r.other && r.source === m))
    })
    sel.append(meta)
    sel.append(option('__other', t.rule_other, r.other))
    sel.addEventListener('change', () => {
      if (sel.value === '__other') {
        r.other = true
        if (isKnownSource(r.source)) r.source = ''
      } else {
        r.other = false
        r.source = sel.value
      }
      renderRules(r.other ? `${r.uid}-other` : `${r.uid}-source`)
      markDirty()
    })
    return adminOnly(sel)
  }

  function targetSelect(r) {
    var sel = el('select', { id: `r${r.uid}-target`, 'data-fk': `${r.uid}-target` })
    sel.append(option('', t.choose, !r.target))
    var list = fields ? fields.fields : []
    var usable = list.filter((f) => !f.isReadOnly && RESERVED_TARGETS.indexOf(f.code) < 0)
    var std = el('optgroup', { label: t.group_std_fields })
    var custom = el('optgroup', { label: t.group_custom_fields })
    // Simple CRM mode (leads off): the person's fields go to the contact, the rest to the deal.
    var contact = el('optgroup', { label: t.group_contact_fields })
    var deal = el('optgroup', { label: t.group_deal_fields })
    usable.forEach((f) => {
      var group =
        f.entity === 'contact'
          ? contact
          : f.entity === 'deal'
            ? f.code.indexOf('UF_CRM_') === 0
              ? custom
              : deal
            : f.code.indexOf('UF_CRM_') === 0
              ? custom
              : std
      group.append(option(f.code, fieldLabel(f), f.code === r.target))
    })
    if (r.target && !usable.some((f) => f.code === r.target)) {
      sel.append(option(r.target, fields ? fmt(t.field_missing, { code: r.target }) : r.target, true))
    }
    ;[contact, deal, std, custom].forEach((g) => {
      if (g.children.length) sel.append(g)
    })
    sel.addEventListener('change', () => {
      r.target = sel.value
      renderRules(`${r.uid}-target`)
      markDirty()
    })
    return adminOnly(sel)
  }

  function enumEditor(r, field) {
    var box = el('div', { class: 'rule__enum' })
    box.append(el('h4', { text: t.enum_h }))
    box.append(el('p', { class: 'hint', text: t.enum_hint }))
    r.enums.forEach((e) => {
      var answer = adminOnly(
        el('input', {
          type: 'text',
          value: e.answer,
          'aria-label': t.enum_answer,
          placeholder: t.enum_answer,
          'data-fk': `${e.uid}-answer`,
        }),
      )
      answer.addEventListener('input', () => {
        e.answer = answer.value
        markDirty()
      })
      var item = el('select', { 'aria-label': t.enum_item, 'data-fk': `${e.uid}-item` })
      item.append(option('', t.choose, !e.id))
      field.items.forEach((it) => {
        item.append(option(it.id, `${it.value} (${it.id})`, String(it.id) === e.id))
      })
      if (e.id && !field.items.some((it) => String(it.id) === e.id)) item.append(option(e.id, e.id, true))
      adminOnly(item).addEventListener('change', () => {
        e.id = item.value
        markDirty()
      })
      var remove = adminOnly(
        el('button', {
          type: 'button',
          class: 'btn btn--light btn--small',
          text: '×',
          'aria-label': fmt(t.enum_remove_label, { answer: e.answer || '…' }),
          onclick: () => {
            r.enums = r.enums.filter((x) => x !== e)
            renderRules(`${r.uid}-enum-add`)
            markDirty()
          },
        }),
      )
      box.append(el('div', { class: 'enum-row' }, [answer, item, remove]))
    })
    box.append(
      adminOnly(
        el('button', {
          type: 'button',
          class: 'btn btn--light btn--small',
          text: `+ ${t.enum_add}`,
          'data-fk': `${r.uid}-enum-add`,
          onclick: () => {
            var e = { uid: ++uidSeq, answer: previewAnswer(r.source), id: '' }
            r.enums.push(e)
            renderRules(`${e.uid}-answer`)
            markDirty()
          },
        }),
      ),
    )
    return box
  }

  /** The latest lead's answer to this question, to prefill a new answer → item row. */
  function previewAnswer(source) {
    if (!lastPreviewLead || !lastPreviewLead.answers) return ''
    var used = {}
    rules.forEach((r) => {
      r.enums.forEach((e) => {
        used[e.answer] = true
      })
    })
    for (var i = 0; i < lastPreviewLead.answers.length; i++) {
      var a = lastPreviewLead.answers[i]
      if (a.key === source && !used[a.value]) return a.value
    }
    return ''
  }

  function ruleRow(r, i) {
    var n = i + 1
    var srcSel = sourceSelect(r)
    var tgtSel = targetSelect(r)
    var remove = adminOnly(
      el('button', {
        type: 'button',
        class: 'btn btn--light btn--small',
        text: t.rule_remove,
        'aria-label': fmt(t.rule_remove_label, { n: n }),
        onclick: () => {
          rules = rules.filter((x) => x !== r)
          renderRules('rule-add')
          markDirty()
        },
      }),
    )
    var row = el('div', { class: 'rule', role: 'listitem', 'aria-label': fmt(t.rule_n, { n: n }) }, [
      el('div', { class: 'rule__main' }, [
        el('div', { class: 'rule__source' }, [el('label', { for: srcSel.id, text: t.rule_source }), srcSel]),
        el('span', { class: 'rule__arrow', 'aria-hidden': 'true', text: '→' }),
        el('div', { class: 'rule__target' }, [el('label', { for: tgtSel.id, text: t.rule_target }), tgtSel]),
        remove,
      ]),
    ])
    if (r.other) {
      var other = adminOnly(
        el('input', {
          type: 'text',
          id: `r${r.uid}-other`,
          value: r.source,
          'data-fk': `${r.uid}-other`,
          maxlength: 500,
        }),
      )
      other.addEventListener('input', () => {
        r.source = other.value
        markDirty()
      })
      row.append(
        el('div', { class: 'rule__other field' }, [el('label', { for: other.id, text: t.rule_other_label }), other]),
      )
    }
    var field = fieldByCode(r.target)
    if (hasItems(field)) row.append(enumEditor(r, field))
    return row
  }

  /** Redraws the rules, then puts the focus back on the control that had it (by data-fk). */
  function renderRules(focusKey) {
    var box = clear($('rules'))
    if (!rules.length) box.append(el('p', { class: 'rules__empty', text: t.rules_empty }))
    rules.forEach((r, i) => {
      box.append(ruleRow(r, i))
    })
    if (focusKey) {
      var target = focusKey === 'rule-add' ? $('rule-add') : box.querySelector(`[data-fk="${focusKey}"]`)
      if (target) target.focus()
    }
  }

  function fillConstant(id, items, value) {
    var sel = $(id)
    var current = value === undefined || value === null ? '' : String(value)
    clear(sel)
    sel.append(option('', t.const_default, current === ''))
    items.forEach((x) => {
      sel.append(option(x.id, x.label, String(x.id) === current))
    })
    if (current && !items.some((x) => String(x.id) === current)) sel.append(option(current, current, true))
    sel.value = current
  }

  function renderConstants(constants) {
    var c = constants || {}
    var users = fields ? fields.users.map((u) => ({ id: u.id, label: `${u.name} (#${u.id})` })) : []
    var sources = fields ? fields.sources.map((s) => ({ id: s.id, label: s.name })) : []
    var statuses = fields ? fields.statuses.map((s) => ({ id: s.id, label: s.name })) : []
    fillConstant('const-assigned', users, c.ASSIGNED_BY_ID)
    fillConstant('const-source', sources, c.SOURCE_ID)
    // A deal has no lead status: in simple CRM mode the status constant is not offered (nor kept).
    var simple = !!(fields && fields.crmMode === 2)
    fillConstant('const-status', simple ? [] : statuses, simple ? undefined : c.STATUS_ID)
    $('const-status').parentNode.hidden = simple
    var opened = $('const-opened')
    opened.value = c.OPENED === 'Y' || c.OPENED === 'N' ? c.OPENED : ''
  }

  async function pickUser() {
    if (!b24) return
    try {
      var user = await b24.dialog.selectUser()
      if (!user || !user.id) return
      var sel = $('const-assigned')
      var id = String(user.id)
      if (!Array.prototype.some.call(sel.options, (o) => o.value === id))
        sel.append(option(id, `${user.name || `#${id}`} (#${id})`, true))
      sel.value = id
      markDirty()
    } catch (e) {
      say('mapping-result', 'error', errText(e))
    }
  }

  async function loadFields() {
    say('fields-status', 'info', t.fields_loading)
    try {
      fields = await api('GET', 'fields')
      say('fields-status', '', '')
    } catch (e) {
      say('fields-status', 'error', fmt(t.fields_failed, { error: errText(e) }))
    }
    // Keep whatever was picked while the list was loading.
    renderConstants(currentMapping().constants)
    renderRules()
    // The model was built before the field list; the saved mapping is what the server has.
    savedJson = JSON.stringify(normalizedSaved())
    markDirty()
  }

  /** The saved mapping in the shape currentMapping() produces, to compare for unsaved changes. */
  function normalizedSaved() {
    var m = state.mapping || { rules: [], constants: {} }
    var out = { rules: [], constants: {} }
    ;(m.rules || []).forEach((r) => {
      var rule = { source: r.source, target: r.target }
      if (r.enumMap && Object.keys(r.enumMap).length) rule.enumMap = r.enumMap
      out.rules.push(rule)
    })
    Object.keys(m.constants || {}).forEach((k) => {
      if (CONSTANT_KEYS.indexOf(k) < 0) out.constants[k] = m.constants[k]
    })
    CONSTANT_KEYS.forEach((k) => {
      var v = (m.constants || {})[k]
      if (v !== undefined && v !== null && v !== '')
        out.constants[k] = k === 'ASSIGNED_BY_ID' && /^\d+$/.test(String(v)) ? Number(v) : String(v)
    })
    return out
  }

  async function saveMapping() {
    var problems = problemsOf()
    if (problems.length) return say('mapping-result', 'error', t.mapping_invalid, problems)
    var mapping = currentMapping()
    await busy($('mapping-save'), async () => {
      try {
        var res = await api('POST', 'mapping', mapping)
        state.mapping = res.mapping
        savedJson = JSON.stringify(normalizedSaved())
        if (res.warnings && res.warnings.length) say('mapping-result', 'info', t.saved_with_warnings, res.warnings)
        else say('mapping-result', 'ok', t.mapping_saved)
        markDirty()
      } catch (e) {
        var list = e.data && Array.isArray(e.data.errors) ? e.data.errors : null
        say('mapping-result', 'error', list && list.length ? t.mapping_invalid : errText(e), list)
      }
    })
  }

  function schedulePreview() {
    clearTimeout(previewTimer)
    previewTimer = setTimeout(runPreview, PREVIEW_DELAY_MS)
  }

  function displayValue(v) {
    if (v === null || v === undefined) return ''
    if (Array.isArray(v)) {
      return v
        .map((x) =>
          x && typeof x === 'object' && 'VALUE' in x
            ? String(x.VALUE) + (x.VALUE_TYPE ? ` (${x.VALUE_TYPE})` : '')
            : displayValue(x),
        )
        .join(', ')
    }
    if (typeof v === 'object') return JSON.stringify(v)
    return String(v)
  }

  /** A field's value as a person reads it: list items, users, sources and stages by name. */
  function describeValue(code, v) {
    var text = displayValue(v)
    if (!fields || v === null || v === undefined || typeof v === 'object') return text
    var named = null
    if (code === 'ASSIGNED_BY_ID') named = fields.users.filter((u) => String(u.id) === text)[0]
    else if (code === 'SOURCE_ID') named = fields.sources.filter((x) => x.id === text)[0]
    else if (code === 'STATUS_ID') named = fields.statuses.filter((x) => x.id === text)[0]
    if (named) return `${named.name} (${text})`
    var field = fieldByCode(code)
    var item = hasItems(field) ? field.items.filter((x) => String(x.id) === text)[0] : null
    return item ? `${item.value} (${text})` : text
  }

  async function runPreview() {
    var seq = ++previewSeq
    var body = clear($('preview-body'))
    try {
      var res = await api('POST', 'preview', { mapping: currentMapping() })
      if (seq !== previewSeq) return
      clear(body)
      lastPreviewLead = res.lead
      if (!res.lead) {
        body.append(el('p', { class: 'muted', text: t.preview_none }))
        return
      }
      body.append(
        el('p', {
          class: 'muted small',
          text: `${t.preview_intro} ${fmt(t.preview_from, { id: res.lead.tiktokLeadId })}`,
        }),
      )
      var rows = Object.keys(res.fields).map((code) => {
        var f = fieldByCode(code)
        var label =
          f && f.title && f.title !== code ? [`${f.title} `, el('code', { text: code })] : [el('code', { text: code })]
        return el('tr', { 'data-field': code }, [
          el('th', { scope: 'row' }, label),
          el('td', { class: 'pre', text: describeValue(code, res.fields[code]) }),
        ])
      })
      body.append(
        el('table', { class: 'kv', id: 'preview-table' }, [
          el(
            'thead',
            { class: 'sr-only' },
            el('tr', null, [
              el('th', { scope: 'col', text: t.preview_field }),
              el('th', { scope: 'col', text: t.preview_value }),
            ]),
          ),
          el('tbody', null, rows),
        ]),
      )
      if (res.warnings && res.warnings.length) {
        body.append(
          el(
            'ul',
            { class: 'warnings' },
            res.warnings.map((w) => el('li', { text: w })),
          ),
        )
      }
      var answers = res.lead.answers || []
      if (answers.length) {
        body.append(
          el('details', { class: 'small' }, [
            el('summary', { text: t.preview_answers }),
            el(
              'table',
              { class: 'kv' },
              el(
                'tbody',
                null,
                answers.map((a) =>
                  el('tr', null, [el('th', { scope: 'row', text: a.key }), el('td', { text: a.value })]),
                ),
              ),
            ),
          ]),
        )
      }
    } catch (e) {
      if (seq !== previewSeq) return
      clear(body).append(
        el('p', { class: 'line line--error', role: 'alert', text: fmt(t.preview_failed, { error: errText(e) }) }),
      )
    }
  }

  function initMapping() {
    loadMappingModel(state.mapping || { rules: [], constants: {} })
    renderConstants(state.mapping && state.mapping.constants)
    renderRules()
    $('rule-add').addEventListener('click', () => {
      var r = { uid: ++uidSeq, source: '', target: '', other: false, enums: [] }
      rules.push(r)
      renderRules(`${r.uid}-source`)
      markDirty()
    })
    document.querySelectorAll('[data-const]').forEach((sel) => {
      sel.addEventListener('change', markDirty)
    })
    $('pick-user').addEventListener('click', pickUser)
    $('mapping-save').addEventListener('click', saveMapping)
  }

  // ---------------------------------------------------------------- test lead

  var watchedTestId = null

  async function sendTestLead() {
    var btn = $('test-lead-btn')
    await busy(btn, async () => {
      say('test-lead-result', 'info', t.test_sending)
      try {
        var res = await api('POST', 'test-lead')
        watchedTestId = res.leadId
        say('test-lead-result', 'info', fmt(t.test_sent, { id: res.tiktokLeadId }))
        await refreshLog()
      } catch (e) {
        say('test-lead-result', 'error', errText(e))
      }
    })
  }

  /** Shows how the watched test lead is doing; stops watching once it is done. */
  function reportTestLead(row) {
    if (!row) return
    var node = $('test-lead-result')
    if (row.status === 'delivered') {
      say('test-lead-result', 'ok', fmt(t.test_delivered, { time: fmtDuration(row.deliveryMs), lead: row.b24LeadId }))
      var url = row.b24LeadId ? leadUrl(row) : null
      if (url) node.append(' ', leadLink(url, row.b24LeadId))
      watchedTestId = null
    } else if (row.status === 'duplicate') {
      say('test-lead-result', 'info', fmt(t.test_duplicate, { dup: row.duplicateOf || '' }))
      watchedTestId = null
    } else if (row.status === 'failed') {
      say('test-lead-result', 'error', fmt(t.test_failed, { error: row.lastError || '' }))
      watchedTestId = null
    } else if (row.lastError) {
      say('test-lead-result', 'info', fmt(t.test_waiting, { attempts: row.attempts, error: row.lastError }))
    }
  }

  // ---------------------------------------------------------------- delivery log

  var log = { rows: [], nextBefore: null, filter: '' }
  var pollTimer = 0
  var refreshing = false

  function statusPill(status) {
    var cls =
      status === 'delivered'
        ? 'pill--ok'
        : status === 'failed'
          ? 'pill--bad'
          : status === 'duplicate'
            ? 'pill--dup'
            : 'pill--wait'
    return el('span', { class: `pill ${cls}`, text: t[`status_${status}`] || status })
  }

  function logRow(row) {
    var who = el('td', null, [
      row.name || row.tiktokLeadId,
      row.isTest ? el('span', { class: 'tag', text: t.log_test }) : null,
    ])
    if (row.name) who.append(el('span', { class: 'sub', text: row.tiktokLeadId }))
    if (row.duplicateOf)
      who.append(el('span', { class: 'sub', text: fmt(t.log_duplicate_of, { dup: row.duplicateOf }) }))
    if (row.lastError && row.status !== 'delivered') who.append(el('span', { class: 'err', text: row.lastError }))
    var status = el('td', null, [statusPill(row.status)])
    if (row.attempts > 1) status.append(el('span', { class: 'sub', text: fmt(t.log_attempts, { n: row.attempts }) }))
    var url = row.b24LeadId ? leadUrl(row) : null
    var actions = el('td')
    if (row.status === 'failed') {
      actions.append(
        adminOnly(
          el('button', {
            type: 'button',
            class: 'btn btn--light btn--small',
            text: t.log_resend,
            'aria-label': fmt(t.log_resend_label, { id: row.tiktokLeadId }),
            onclick: (ev) => {
              resend({ ids: [row.id] }, ev.currentTarget)
            },
          }),
        ),
      )
    }
    return el('tr', { 'data-id': row.id, 'data-status': row.status }, [
      status,
      who,
      el('td', { class: 'num' }, el('time', { datetime: row.receivedAt, text: fmtTime(row.receivedAt) })),
      el('td', { class: 'num', text: fmtDuration(row.deliveryMs) }),
      b24Cell(row, url),
      actions,
    ])
  }

  /** The Bitrix24 link, and where the lead stands there now (stage and, in plain words, its semantic). */
  function b24Cell(row, url) {
    var cell = el('td', null, url ? leadLink(url, row.b24LeadId) : '–')
    var stage = row.b24Stage
    if (stage) {
      var words = stage.semantic ? t[`stage_semantic_${stage.semantic}`] : ''
      cell.append(
        el('span', {
          class: `sub stage stage--${stage.semantic || 'none'}`,
          'data-stage': stage.id,
          'data-semantic': stage.semantic || '',
          title: stage.at ? fmt(t.log_stage_at, { time: fmtTime(stage.at) }) : '',
          text: fmt(t.log_stage, { stage: stage.id }) + (words ? ` · ${words}` : ''),
        }),
      )
    }
    return cell
  }

  function renderLog() {
    var body = clear($('log-body'))
    if (!log.rows.length) body.append(el('tr', null, el('td', { colspan: 6, class: 'muted', text: t.log_empty })))
    log.rows.forEach((row) => {
      body.append(logRow(row))
    })
    $('log-more').hidden = log.nextBefore === null
  }

  async function fetchLeads(filter, limit, before) {
    var q = new URLSearchParams({ limit: String(limit) })
    if (filter) q.set('status', filter)
    if (before) q.set('before', String(before))
    return api('GET', `leads?${q.toString()}`)
  }

  /** Reloads the rows already shown (first page, or as many as were loaded). */
  async function refreshLog() {
    if (refreshing) return
    refreshing = true
    var wasPending = somethingPending()
    try {
      var data = await fetchLeads(log.filter, Math.min(100, Math.max(25, log.rows.length)))
      log.rows = data.leads
      log.nextBefore = data.nextBefore
      renderLog()
      if (watchedTestId !== null) {
        var row = log.rows.filter((r) => r.id === watchedTestId)[0]
        if (!row && log.filter) row = (await fetchLeads('', 25)).leads.filter((r) => r.id === watchedTestId)[0]
        reportTestLead(row)
      }
      if (!$('log-result').classList.contains('line--ok')) say('log-result', '', '')
    } catch (e) {
      say('log-result', 'error', fmt(t.log_failed_load, { error: errText(e) }))
    } finally {
      refreshing = false
      // The log has just shown the last pending lead done, so it is committed. The counters and the
      // status were read before it (or not at all, when a test lead is done at the first look), and
      // the idle poll reloads them only on new activity: read them once more now.
      if (wasPending && !somethingPending()) {
        refreshState()
        loadStats()
      }
      schedulePoll()
    }
  }

  async function loadMore() {
    await busy($('log-more'), async () => {
      try {
        var data = await fetchLeads(log.filter, 25, log.nextBefore)
        log.rows = log.rows.concat(data.leads)
        log.nextBefore = data.nextBefore
        renderLog()
      } catch (e) {
        say('log-result', 'error', fmt(t.log_failed_load, { error: errText(e) }))
      }
    })
  }

  async function resend(body, button) {
    await busy(button, async () => {
      try {
        var res = await api('POST', 'leads/resend', body)
        say('log-result', 'ok', fmt(t.log_resent, { n: res.requeued }))
        await refreshLog()
        refreshState()
      } catch (e) {
        say('log-result', 'error', errText(e))
      }
    })
  }

  function somethingPending() {
    if (watchedTestId !== null) return true
    if (Date.now() < ttWatchUntil) return true
    if (state && state.queue && state.queue.pending + state.queue.sending > 0) return true
    return log.rows.some((r) => PENDING.indexOf(r.status) >= 0)
  }

  /**
   * While leads are on their way, the log, status and counters refresh every few seconds. Otherwise
   * the status is checked now and then, and the rest reloads when it shows new activity.
   */
  function schedulePoll() {
    clearTimeout(pollTimer)
    var on = somethingPending()
    $('log-auto').hidden = !on
    pollTimer = setTimeout(on ? pollBusy : pollIdle, on ? POLL_MS : IDLE_POLL_MS)
  }

  function pollBusy() {
    if (document.hidden) return schedulePoll()
    refreshState()
    loadStats()
    refreshLog() // schedules the next poll
  }

  function activity(s) {
    return s
      ? [s.webhook.lastWebhookAt, s.lastDeliveryAt, s.queue.pending, s.queue.sending, s.queue.failed].join('|')
      : ''
  }

  async function pollIdle() {
    if (document.hidden) return schedulePoll()
    var before = activity(state)
    await refreshState()
    if (activity(state) === before) return schedulePoll()
    loadStats()
    refreshLog()
  }

  function initLog() {
    $('log-filter').addEventListener('change', () => {
      log.filter = $('log-filter').value
      log.rows = []
      refreshLog()
    })
    $('log-refresh').addEventListener('click', () => {
      refreshLog()
      refreshState()
      loadStats()
    })
    $('log-more').addEventListener('click', loadMore)
    $('log-resend-all').addEventListener('click', (ev) => {
      resend({ all: true }, ev.currentTarget)
    })
    $('status-refresh').addEventListener('click', () => {
      refreshState()
      loadStats()
    })
    $('test-lead-btn').addEventListener('click', sendTestLead)
  }

  /**
   * Section links. Framed, the frame is as tall as its content and Bitrix24's window scrolls, not
   * the frame, so the section is scrolled into view explicitly (the browser carries that up to the
   * parent) and its heading gets the focus.
   */
  function initNav() {
    document.querySelectorAll('.app-nav a[href^="#"]').forEach((a) => {
      a.addEventListener('click', (ev) => {
        var section = document.getElementById(a.getAttribute('href').slice(1))
        if (!section) return
        ev.preventDefault()
        var heading = section.querySelector('h2') || section
        heading.setAttribute('tabindex', '-1')
        section.scrollIntoView({ block: 'start' })
        heading.focus({ preventScroll: true })
      })
    })
  }

  // ---------------------------------------------------------------- TikTok for Business

  var TT_POLL_MS = 2000
  var TT_LINK_POLL_FOR_MS = 10 * 60000
  var TT_WATCH_LOG_MS = 30000
  var tiktok = null // TikTokView once loaded
  var ttSeq = 0
  var ttPopup = null
  var ttPollTimer = 0
  var ttWatchUntil = 0 // the delivery log keeps refreshing until then (a TikTok test lead or an import on its way)
  var ttPicker = { grantId: null, picked: {}, days: '30' }
  var ttDrafts = {} // advertiserId → { allForms, pageIds: { pageId: true } } while not saved
  var ttImports = {} // advertiserId → { days, pageId } while the import box is open
  var ttMsgs = {} // message key → { kind, text }: kept across re-renders
  var ttBusy = {} // action key → true while its request runs
  var ttQuestionsKey = ''

  function safeId(s) {
    return String(s).replace(/[^A-Za-z0-9_-]/g, '_')
  }

  /** The element under root whose data-fk is key (compared as text: keys may hold any characters). */
  function byFk(root, key) {
    var all = root.querySelectorAll('[data-fk]')
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute('data-fk') === key) return all[i]
    return null
  }

  /** The questions of every connected form, for the mapping editor's answer keys. */
  function formQuestions() {
    var out = []
    if (!tiktok) return out
    tiktok.connections.forEach((c) => {
      c.forms.forEach((f) => {
        ;(f.fields || []).forEach((q) => {
          if (out.indexOf(q) < 0) out.push(q)
        })
      })
    })
    return out
  }

  /** Rules typed as "other question" that name a form's question become ordinary picks. */
  function syncRuleSources() {
    var qs = formQuestions()
    var key = JSON.stringify(qs)
    if (key === ttQuestionsKey) return
    ttQuestionsKey = key
    rules.forEach((r) => {
      if (r.other && qs.indexOf(r.source) >= 0) r.other = false
    })
    var active = document.activeElement
    var fk = active && $('rules').contains(active) ? active.getAttribute('data-fk') : null
    renderRules(fk || undefined)
  }

  function ttLineId(key) {
    return `tt-msg-${safeId(key)}`
  }

  /** A result line that survives re-rendering: its text is kept in ttMsgs. */
  function ttLine(key, testid) {
    var m = ttMsgs[key]
    var node = el('p', {
      class: `line${m ? ` line--${m.kind}` : ''}`,
      id: ttLineId(key),
      role: m && m.kind === 'error' ? 'alert' : 'status',
      'aria-live': 'polite',
      'data-testid': testid || null,
    })
    if (m) node.textContent = m.text
    else node.hidden = true
    return node
  }

  function ttSay(key, kind, text) {
    if (text) ttMsgs[key] = { kind: kind, text: text }
    else delete ttMsgs[key]
    say(ttLineId(key), kind, text)
  }

  /** An admin-only button whose request state (busy) survives re-rendering. */
  function ttButton(key, props) {
    var b = adminOnly(el('button', Object.assign({ type: 'button', 'data-fk': key }, props)))
    if (ttBusy[key]) {
      b.disabled = true
      b.setAttribute('aria-busy', 'true')
    }
    return b
  }

  async function ttAction(key, fn) {
    if (ttBusy[key]) return
    ttBusy[key] = true
    var b = byFk($('sec-tiktok'), key)
    if (b) {
      b.disabled = true
      b.setAttribute('aria-busy', 'true')
    }
    try {
      return await fn()
    } finally {
      delete ttBusy[key]
      b = byFk($('sec-tiktok'), key) // may be a new node by now
      if (b) {
        b.removeAttribute('aria-busy')
        b.disabled = !isAdmin || b.hasAttribute('data-blocked')
      }
    }
  }

  /** ttAction for a request: its failure is said on the result line `line` (then onError runs). */
  function ttRequest(key, line, fn, onError) {
    return ttAction(key, async () => {
      try {
        await fn()
      } catch (e) {
        ttSay(line, 'error', errText(e))
        if (onError) onError(e)
      }
    })
  }

  function parseDays(value, min, max) {
    var s = String(value === undefined || value === null ? '' : value).trim()
    if (!/^\d{1,3}$/.test(s)) return null
    var n = Number(s)
    return n >= min && n <= max ? n : null
  }

  function watchLog() {
    ttWatchUntil = Date.now() + TT_WATCH_LOG_MS
    refreshLog()
  }

  async function loadTikTok() {
    var seq = ++ttSeq
    try {
      var view = await api('GET', 'tiktok')
      if (seq === ttSeq) renderTikTok(view)
      if (ttMsgs.load) ttSay('load', '', '')
    } catch (e) {
      if (seq !== ttSeq) return
      if (!tiktok) clear($('tt-connections'))
      ttSay('load', 'error', fmt(t.tt_failed_load, { error: errText(e) }))
      scheduleFit()
    }
  }

  /** A TikTokView answered by a POST: newer than any GET still on its way. */
  function ttApply(view) {
    ++ttSeq
    renderTikTok(view)
  }

  function renderTikTok(view) {
    var section = $('sec-tiktok')
    var active = document.activeElement
    var focusKey = active && section.contains(active) ? active.getAttribute('data-fk') : null
    tiktok = view
    // Not configured: the server's problem line says so when it sends one, else the page's own.
    $('tt-unconfigured').hidden = !!view.configured || !!(view.problems && view.problems.length)
    $('tt-connect-row').hidden = !view.configured
    var problems = clear($('tt-problems'))
    if (view.problems && view.problems.length) {
      appendProblems(problems, 'tt-problem-list', view.problems)
    }
    renderGrant(view.grant)
    renderConnections(view.connections || [])
    if (focusKey) {
      var again = byFk(section, focusKey)
      if (again && !again.disabled) again.focus()
    }
    syncRuleSources()
    scheduleFit()
  }

  // The account picker, after the administrator approved on TikTok.

  function renderGrant(grant) {
    var box = clear($('tt-grant'))
    if (!grant) {
      box.hidden = true
      ttPicker = { grantId: null, picked: {}, days: '30' }
      return
    }
    if (ttPicker.grantId !== grant.id) ttPicker = { grantId: grant.id, picked: {}, days: '30' }
    box.hidden = false
    box.append(el('h3', { id: 'tt-grant-h', tabindex: '-1', text: t.tt_picker_h }))
    box.append(el('p', { class: 'muted', text: `${t.tt_picker_intro} ${t.tt_picker_expires}` }))
    var list = el('fieldset', { class: 'tt-accounts', id: 'tt-accounts' }, [
      el('legend', { class: 'sr-only', text: t.tt_picker_h }),
    ])
    if (!grant.advertisers.length) list.append(el('p', { class: 'muted', text: t.tt_picker_empty }))
    grant.advertisers.forEach((a) => {
      var blocked = typeof a.connectedElsewhere === 'string' && a.connectedElsewhere !== ''
      var id = `tt-adv-${safeId(a.advertiserId)}`
      var reason = blocked
        ? fmt(t.tt_adv_elsewhere, { domain: a.connectedElsewhere })
        : a.connectedHere
          ? t.tt_adv_here
          : ''
      var cb = el('input', {
        type: 'checkbox',
        id: id,
        name: 'tt-adv',
        value: a.advertiserId,
        'data-fk': `adv:${a.advertiserId}`,
        checked: !blocked && !!ttPicker.picked[a.advertiserId],
        'aria-describedby': reason ? `${id}-why` : null,
      })
      adminOnly(cb)
      if (blocked) {
        cb.disabled = true
        cb.setAttribute('data-blocked', '')
      }
      cb.addEventListener('change', () => {
        ttPicker.picked[a.advertiserId] = cb.checked
      })
      list.append(
        el(
          'div',
          {
            class: `tt-account${blocked ? ' is-blocked' : ''}`,
            'data-testid': 'tt-account',
            'data-advertiser': a.advertiserId,
          },
          [
            cb,
            el('label', { for: id }, [
              a.advertiserName,
              el('span', { class: 'sub', text: fmt(t.tt_adv_id, { id: a.advertiserId }) }),
            ]),
            reason
              ? el('span', { class: `tt-why${blocked ? ' tt-why--bad' : ''}`, id: `${id}-why`, text: reason })
              : null,
          ],
        ),
      )
    })
    box.append(list)
    var days = adminOnly(
      el('input', {
        type: 'number',
        id: 'tt-import-days',
        class: 'input-days',
        min: 0,
        max: 90,
        step: 1,
        inputmode: 'numeric',
        value: ttPicker.days,
        'data-fk': 'grant-days',
      }),
    )
    if (isAdmin) days.setAttribute('aria-describedby', 'tt-import-days-hint')
    days.addEventListener('input', () => {
      ttPicker.days = days.value
    })
    box.append(
      el('div', { class: 'field tt-days' }, [
        el('label', { for: 'tt-import-days' }, [`${t.tt_import_before} `, days, ` ${t.tt_import_after}`]),
        el('p', { class: 'hint', id: 'tt-import-days-hint', text: t.tt_import_hint }),
      ]),
    )
    box.append(
      el('div', { class: 'actions' }, [
        ttButton('grant-connect', {
          id: 'tt-grant-connect',
          class: 'btn btn--primary',
          text: t.tt_connect_selected,
          onclick: connectSelected,
        }),
        ttButton('grant-cancel', {
          id: 'tt-grant-cancel',
          class: 'btn btn--light',
          text: t.cancel,
          onclick: cancelGrant,
        }),
      ]),
    )
    box.append(ttLine('grant', 'tt-grant-result'))
  }

  async function connectSelected() {
    var grant = tiktok && tiktok.grant
    if (!grant) return
    var ids = grant.advertisers
      .filter((a) => ttPicker.picked[a.advertiserId] && !a.connectedElsewhere)
      .map((a) => a.advertiserId)
    if (!ids.length) return ttSay('grant', 'error', t.tt_pick_one)
    var days = parseDays(ttPicker.days, 0, 90)
    if (days === null) {
      ttSay('grant', 'error', fmt(t.tt_days_range, { min: 0, max: 90 }))
      return $('tt-import-days').focus()
    }
    await ttRequest(
      'grant-connect',
      'grant',
      async () => {
        ttSay('grant', 'info', days > 0 ? t.tt_importing : '')
        var view = await api('POST', 'tiktok/grant', { grantId: grant.id, advertiserIds: ids, importDays: days })
        ttSay('grant', '', '')
        ttApply(view)
        say('tt-result', 'ok', t.tt_grant_done)
        var first = ids.map((id) => $(`tt-conn-h-${safeId(id)}`)).filter(Boolean)[0]
        if (first) first.focus()
        if (days > 0) watchLog()
      },
      (e) => {
        if (e.status === 409) loadTikTok() // shows which account is taken now
      },
    )
  }

  async function cancelGrant() {
    var grant = tiktok && tiktok.grant
    if (!grant) return
    await ttRequest('grant-cancel', 'grant', async () => {
      ttSay('grant', '', '')
      ttApply(await api('POST', 'tiktok/grant/cancel', { grantId: grant.id }))
      say('tt-result', 'info', t.tt_grant_cancelled)
      $('tt-connect').focus()
    })
  }

  // Connected ad accounts.

  function renderConnections(list) {
    var box = clear($('tt-connections'))
    if (!list.length) {
      box.append(el('p', { class: 'muted', id: 'tt-none', text: t.tt_none }))
      return
    }
    list.forEach((c) => {
      box.append(connectionCard(c))
    })
  }

  function draftOf(c) {
    if (!ttDrafts[c.advertiserId]) {
      var ids = {}
      c.forms.forEach((f) => {
        if (f.selected) ids[f.pageId] = true
      })
      ttDrafts[c.advertiserId] = { allForms: !!c.allForms, pageIds: ids, fromServer: true }
    }
    return ttDrafts[c.advertiserId]
  }

  function connectionCard(c) {
    var sid = safeId(c.advertiserId)
    var adv = c.advertiserId
    var pill = c.status === 'active' ? 'pill--ok' : 'pill--bad'
    var card = el('article', {
      class: 'tt-conn',
      id: `tt-conn-${sid}`,
      'data-testid': 'tt-conn',
      'data-advertiser': adv,
      'data-status': c.status,
      'aria-labelledby': `tt-conn-h-${sid}`,
    })
    if (ttBusy[`import:${adv}`]) card.setAttribute('aria-busy', 'true')
    card.append(
      el('div', { class: 'tt-conn__head' }, [
        el('h3', { id: `tt-conn-h-${sid}`, tabindex: '-1', text: c.advertiserName }),
        el('span', { class: `pill ${pill}`, 'data-testid': 'tt-conn-status', text: c.statusText }),
      ]),
    )
    card.append(
      el('p', { class: 'muted small tt-conn__meta' }, [
        el('span', { text: fmt(t.tt_adv_id, { id: adv }) }),
        el('span', { text: fmt(t.tt_connected_by, { time: fmtTime(c.connectedAt), name: c.connectedBy }) }),
        el('span', { text: fmt(t.tt_last_check, { time: fmtTime(c.lastCheckAt) }) }),
      ]),
    )
    card.append(formsEditor(c))
    card.append(
      el('div', { class: 'actions', role: 'group', 'aria-label': fmt(t.tt_conn_actions, { name: c.advertiserName }) }, [
        ttButton(`check:${adv}`, {
          class: 'btn btn--light btn--small',
          'data-testid': 'tt-check',
          text: t.tt_check,
          onclick: () => {
            checkConnection(c)
          },
        }),
        ttButton(`import-open:${adv}`, {
          class: 'btn btn--light btn--small',
          'data-testid': 'tt-import',
          'aria-expanded': ttImports[adv] ? 'true' : 'false',
          'aria-controls': `tt-import-box-${sid}`,
          text: t.tt_import,
          onclick: () => {
            toggleImport(c)
          },
        }),
        ttButton(`disconnect:${adv}`, {
          class: 'btn btn--light btn--small btn--danger-light',
          'data-testid': 'tt-disconnect',
          text: t.tt_disconnect,
          onclick: () => {
            disconnect(c)
          },
        }),
      ]),
    )
    if (ttImports[adv]) card.append(importBox(c))
    card.append(ttLine(`conn:${adv}`, 'tt-conn-result'))
    return card
  }

  function formsEditor(c) {
    var sid = safeId(c.advertiserId)
    var adv = c.advertiserId
    var d = draftOf(c)
    var box = el('div', { class: 'tt-forms' }, [el('h4', { text: t.tt_forms_h })])
    if (!c.forms.length) {
      box.append(el('p', { class: 'muted', text: t.tt_forms_none }))
      return box
    }
    var modes = el('fieldset', { class: 'tt-modes' }, [el('legend', { class: 'sr-only', text: t.tt_forms_mode })])
    ;[
      ['all', true, t.tt_forms_all],
      ['some', false, t.tt_forms_some],
    ].forEach((m) => {
      var id = `tt-mode-${m[0]}-${sid}`
      var radio = adminOnly(
        el('input', {
          type: 'radio',
          id: id,
          name: `tt-mode-${sid}`,
          value: m[0],
          checked: d.allForms === m[1],
          'data-fk': `mode-${m[0]}:${adv}`,
          'data-testid': `tt-forms-${m[0]}`,
        }),
      )
      radio.addEventListener('change', () => {
        if (!radio.checked) return
        d.allForms = m[1]
        d.fromServer = false
        renderTikTok(tiktok)
      })
      modes.append(el('span', { class: 'tt-mode' }, [radio, el('label', { for: id, text: m[2] })]))
    })
    box.append(modes)
    box.append(
      el(
        'ul',
        { class: 'tt-form-list' },
        c.forms.map((f) => formRow(c, f, d)),
      ),
    )
    box.append(
      el('div', { class: 'actions' }, [
        ttButton(`forms-save:${adv}`, {
          class: 'btn btn--primary btn--small',
          'data-testid': 'tt-forms-save',
          text: t.tt_forms_save,
          onclick: () => {
            saveForms(c)
          },
        }),
      ]),
    )
    return box
  }

  function formRow(c, f, d) {
    var adv = c.advertiserId
    var id = `tt-form-${safeId(adv)}-${safeId(f.pageId)}`
    var cb = adminOnly(
      el('input', {
        type: 'checkbox',
        id: id,
        'data-fk': `form:${adv}:${f.pageId}`,
        'data-testid': 'tt-form-pick',
        checked: d.allForms || !!d.pageIds[f.pageId],
      }),
    )
    if (d.allForms) {
      cb.disabled = true
      cb.setAttribute('data-blocked', '')
    }
    cb.addEventListener('change', () => {
      if (cb.checked) d.pageIds[f.pageId] = true
      else delete d.pageIds[f.pageId]
      d.fromServer = false
    })
    var row = el(
      'li',
      {
        class: `tt-form${f.selected ? '' : ' is-off'}`,
        'data-testid': 'tt-form',
        'data-page': f.pageId,
        'data-selected': f.selected ? 'true' : 'false',
      },
      [
        el('div', { class: 'tt-form__head' }, [
          cb,
          el('label', { for: id, text: f.title }),
          f.status ? el('span', { class: 'muted small', text: fmt(t.tt_form_status, { status: f.status }) }) : null,
        ]),
      ],
    )
    var fieldsList = f.fields || []
    if (fieldsList.length) {
      var newOnes = f.newFields || []
      var unmapped = f.unmappedCustom || []
      row.append(
        el('div', { class: 'tt-questions' }, [
          el('span', { class: 'muted small', id: `${id}-q`, text: `${t.tt_form_questions}:` }),
          el(
            'ul',
            { 'aria-labelledby': `${id}-q` },
            fieldsList.map((q) => {
              var isNew = newOnes.indexOf(q) >= 0
              var isUnmapped = unmapped.indexOf(q) >= 0
              var li = el('li', { class: `tt-q${isNew ? ' tt-q--new' : ''}`, 'data-question': q }, [
                el('span', { class: 'tt-q__text', text: q }),
              ])
              if (isNew) li.append(el('span', { class: 'tag tag--warn', 'data-testid': 'tt-q-new', text: t.tt_q_new }))
              else if (isUnmapped) li.append(el('span', { class: 'tag tag--grey', text: t.tt_q_unmapped }))
              if (isUnmapped) {
                li.append(
                  ttButton(`create-field:${adv}:${f.pageId}:${q}`, {
                    class: 'btn btn--link btn--xs',
                    'data-testid': 'tt-create-field',
                    text: t.tt_create_field,
                    'aria-label': fmt(t.tt_create_field_label, { question: q }),
                    onclick: () => {
                      createField(c, f, q)
                    },
                  }),
                )
              }
              return li
            }),
          ),
        ]),
      )
    }
    var b = f.lastBackfill
    if (b) {
      row.append(
        b.error
          ? el('p', {
              class: 'small err',
              'data-testid': 'tt-backfill',
              text: fmt(t.tt_backfill_failed, { time: fmtTime(b.at), error: b.error }),
            })
          : el('p', {
              class: 'small muted',
              'data-testid': 'tt-backfill',
              text: fmt(t.tt_backfill_done, { n: num(b.added), time: fmtTime(b.at) }),
            }),
      )
    }
    if (f.testLead)
      row.append(el('p', { class: 'small muted', text: fmt(t.tt_test_lead_last, { time: fmtTime(f.testLead.at) }) }))
    row.append(
      el('div', { class: 'actions actions--tight' }, [
        ttButton(`test-lead:${adv}:${f.pageId}`, {
          class: 'btn btn--light btn--small',
          'data-testid': 'tt-test-lead',
          text: t.tt_test_lead,
          'aria-label': fmt(t.tt_test_lead_label, { form: f.title }),
          onclick: () => {
            sendTikTokTestLead(c, f)
          },
        }),
      ]),
    )
    row.append(ttLine(`form:${adv}:${f.pageId}`, 'tt-form-result'))
    return row
  }

  function importBox(c) {
    var adv = c.advertiserId
    var sid = safeId(adv)
    var st = ttImports[adv]
    var days = adminOnly(
      el('input', {
        type: 'number',
        id: `tt-import-n-${sid}`,
        class: 'input-days',
        min: 1,
        max: 90,
        step: 1,
        inputmode: 'numeric',
        value: st.days,
        'data-fk': `import-days:${adv}`,
        'data-testid': 'tt-import-days',
      }),
    )
    days.addEventListener('input', () => {
      st.days = days.value
    })
    var from = adminOnly(
      el('select', { id: `tt-import-form-${sid}`, 'data-fk': `import-form:${adv}`, 'data-testid': 'tt-import-form' }),
    )
    from.append(option('', t.tt_import_all_forms, !st.pageId))
    c.forms.forEach((f) => {
      if (f.selected) from.append(option(f.pageId, f.title, st.pageId === f.pageId))
    })
    from.addEventListener('change', () => {
      st.pageId = from.value
    })
    return el(
      'div',
      { class: 'tt-import', id: `tt-import-box-${sid}`, role: 'group', 'aria-labelledby': `tt-import-h-${sid}` },
      [
        el('h4', { id: `tt-import-h-${sid}`, text: t.tt_import_h }),
        el('div', { class: 'field' }, [
          el('label', { for: days.id }, [`${t.tt_import_before} `, days, ` ${t.tt_import_after}`]),
        ]),
        el('div', { class: 'field field--inline' }, [el('label', { for: from.id, text: t.tt_import_form }), from]),
        el('div', { class: 'actions' }, [
          ttButton(`import:${adv}`, {
            class: 'btn btn--primary btn--small',
            'data-testid': 'tt-import-do',
            text: t.tt_import_do,
            onclick: () => {
              runImport(c)
            },
          }),
          el('button', {
            type: 'button',
            class: 'btn btn--light btn--small',
            'data-fk': `import-cancel:${adv}`,
            text: t.cancel,
            onclick: () => {
              toggleImport(c)
            },
          }),
        ]),
      ],
    )
  }

  function toggleImport(c) {
    var adv = c.advertiserId
    if (ttImports[adv]) delete ttImports[adv]
    else ttImports[adv] = { days: '7', pageId: '' }
    renderTikTok(tiktok)
    var target = ttImports[adv] ? $(`tt-import-n-${safeId(adv)}`) : byFk($('sec-tiktok'), `import-open:${adv}`)
    if (target) target.focus()
  }

  async function saveForms(c) {
    var adv = c.advertiserId
    var d = draftOf(c)
    var pageIds = c.forms.filter((f) => d.pageIds[f.pageId]).map((f) => f.pageId)
    if (!d.allForms && !pageIds.length) return ttSay(`conn:${adv}`, 'error', t.tt_forms_pick_one)
    await ttRequest(`forms-save:${adv}`, `conn:${adv}`, async () => {
      var view = await api('POST', 'tiktok/forms', {
        advertiserId: adv,
        allForms: d.allForms,
        pageIds: d.allForms ? [] : pageIds,
      })
      delete ttDrafts[adv]
      ttSay(`conn:${adv}`, 'ok', t.tt_forms_saved)
      ttApply(view)
    })
  }

  async function checkConnection(c) {
    var adv = c.advertiserId
    await ttRequest(`check:${adv}`, `conn:${adv}`, async () => {
      var view = await api('POST', 'tiktok/check', { advertiserId: adv })
      ttSay(`conn:${adv}`, 'ok', t.tt_checked)
      ttApply(view)
    })
  }

  async function runImport(c) {
    var adv = c.advertiserId
    var st = ttImports[adv]
    if (!st) return
    var days = parseDays(st.days, 1, 90)
    if (days === null) {
      ttSay(`conn:${adv}`, 'error', fmt(t.tt_days_range, { min: 1, max: 90 }))
      var input = $(`tt-import-n-${safeId(adv)}`)
      if (input) input.focus()
      return
    }
    var before = {}
    c.forms.forEach((f) => {
      before[f.pageId] = f.lastBackfill ? f.lastBackfill.at : null
    })
    var body = { advertiserId: adv, days: days }
    if (st.pageId) body.pageId = st.pageId
    var card = $(`tt-conn-${safeId(adv)}`)
    if (card) card.setAttribute('aria-busy', 'true')
    await ttRequest(`import:${adv}`, `conn:${adv}`, async () => {
      ttSay(`conn:${adv}`, 'info', t.tt_importing)
      var view = await api('POST', 'tiktok/backfill', body)
      var added = 0
      var finished = false
      view.connections.forEach((x) => {
        if (x.advertiserId !== adv) return
        x.forms.forEach((f) => {
          if (f.lastBackfill && f.lastBackfill.at !== before[f.pageId]) {
            finished = true
            added += f.lastBackfill.added || 0
          }
        })
      })
      delete ttImports[adv]
      // The server may finish the import after answering: then the view is reloaded a few times.
      ttSay(
        `conn:${adv}`,
        finished ? 'ok' : 'info',
        finished ? fmt(t.tt_imported, { n: num(added) }) : t.tt_import_started,
      )
      ttApply(view)
      watchLog()
      if (!finished) {
        ;[3000, 8000, 15000, 30000].forEach((ms) => {
          setTimeout(loadTikTok, ms)
        })
      }
    })
    card = $(`tt-conn-${safeId(adv)}`)
    if (card) card.removeAttribute('aria-busy')
  }

  async function disconnect(c) {
    var adv = c.advertiserId
    if (!window.confirm(fmt(t.tt_disconnect_confirm, { name: c.advertiserName }))) return
    await ttRequest(`disconnect:${adv}`, `conn:${adv}`, async () => {
      var view = await api('POST', 'tiktok/disconnect', { advertiserId: adv })
      delete ttDrafts[adv]
      delete ttImports[adv]
      ttSay(`conn:${adv}`, '', '')
      ttApply(view)
      say('tt-result', 'ok', fmt(t.tt_disconnected, { name: c.advertiserName }))
      var next = $('tt-connect')
      if (next && !next.disabled && !$('tt-connect-row').hidden) {
        next.focus()
      } else {
        $('h-tiktok').setAttribute('tabindex', '-1')
        $('h-tiktok').focus()
      }
    })
  }

  async function sendTikTokTestLead(c, f) {
    var key = `form:${c.advertiserId}:${f.pageId}`
    await ttRequest(`test-lead:${c.advertiserId}:${f.pageId}`, key, async () => {
      await api('POST', 'tiktok/test-lead', { advertiserId: c.advertiserId, pageId: f.pageId })
      ttSay(key, 'info', t.tt_test_lead_sent)
      watchLog()
      loadTikTok()
    })
  }

  async function createField(c, f, question) {
    var key = `form:${c.advertiserId}:${f.pageId}`
    await ttRequest(`create-field:${c.advertiserId}:${f.pageId}:${question}`, key, async () => {
      var res = await api('POST', 'tiktok/create-field', {
        advertiserId: c.advertiserId,
        pageId: f.pageId,
        question: question,
      })
      ttSay(key, 'ok', fmt(t.tt_field_created, { field: res.fieldName, question: question }))
      if (res.mapping) applyServerMapping(res.mapping)
      loadFields() // the new field is a target now
      loadTikTok() // and the question is no longer unmapped
    })
  }

  /**
   * A mapping the server saved (a rule for a new lead field): loaded as is when nothing is being
   * edited, else its new rules are added to the unsaved edits.
   */
  function applyServerMapping(mapping) {
    var dirty = savedJson !== JSON.stringify(currentMapping()) || problemsOf().length > 0
    state.mapping = mapping
    if (!dirty) {
      loadMappingModel(mapping)
      renderConstants(mapping.constants)
    } else {
      var have = {}
      rules.forEach((r) => {
        have[`${r.source}\u0000${r.target}`] = true
      })
      ;(mapping.rules || []).forEach((r) => {
        if (have[`${r.source}\u0000${r.target}`]) return
        rules.push(ruleModel(r))
      })
      savedJson = JSON.stringify(normalizedSaved())
    }
    renderRules()
    markDirty()
  }

  // Connect: a popup opened in the click (popup blockers allow nothing later), sent to TikTok.

  function isHttpUrl(u) {
    return typeof u === 'string' && /^https?:\/\//i.test(u)
  }

  async function connectTikTok() {
    if (!isAdmin) return
    var w = null
    try {
      w = window.open('', 'tiktok-connect', 'width=720,height=820')
    } catch {
      w = null
    }
    $('tt-popup-blocked').hidden = true
    await ttAction('connect', async () => {
      try {
        var res = await api('POST', 'tiktok/connect', {})
        if (!isHttpUrl(res && res.authUrl)) throw new ApiError(fmt(t.err_http, { status: 200 }), res, 200)
        if (w && !w.closed) {
          w.location.href = res.authUrl
          say('tt-result', 'info', t.tt_connecting)
          watchPopup(w)
        } else {
          var link = $('tt-open-link')
          link.href = res.authUrl
          $('tt-popup-blocked').hidden = false
          say('tt-result', '', '')
          link.focus()
          watchPopup(null)
        }
      } catch (e) {
        if (w && !w.closed) w.close()
        say('tt-result', 'error', errText(e))
      }
      scheduleFit()
    })
  }

  /** While the TikTok window is open (or the link was offered), the view reloads every 2 s. */
  function watchPopup(w) {
    ttPopup = w
    clearTimeout(ttPollTimer)
    var until = Date.now() + TT_LINK_POLL_FOR_MS
    async function tick() {
      if (ttPopup && ttPopup.closed) {
        ttPopup = null
        if ($('tt-result').textContent === t.tt_connecting) say('tt-result', '', '')
        return loadTikTok()
      }
      if (!ttPopup && (Date.now() > until || (tiktok && tiktok.grant))) return
      await loadTikTok()
      ttPollTimer = setTimeout(tick, TT_POLL_MS)
    }
    ttPollTimer = setTimeout(tick, TT_POLL_MS)
  }

  /** The callback page's word (window.opener.postMessage, same origin only). */
  function onOAuthMessage(ev) {
    if (ev.origin !== location.origin) return
    var d = ev.data
    if (!d || typeof d !== 'object' || d.source !== 'b24-tiktok-leads' || d.type !== 'tiktok-oauth') return
    $('tt-popup-blocked').hidden = true
    say('tt-result', d.ok ? 'ok' : 'error', typeof d.message === 'string' ? d.message : '')
    if (!ttPopup) clearTimeout(ttPollTimer)
    loadTikTok().then(() => {
      var h = $('tt-grant-h')
      if (h && !$('tt-grant').hidden) h.focus()
    })
  }

  function initTikTok() {
    $('tt-connect').addEventListener('click', connectTikTok)
    $('tt-connect').setAttribute('data-fk', 'connect')
    $('tt-refresh').addEventListener('click', loadTikTok)
    $('tt-open-link').addEventListener('click', () => {
      $('tt-popup-blocked').hidden = true
    })
    window.addEventListener('message', onOAuthMessage)
    // a load error line lives above the connections
    $('tt-result').after(ttLine('load', 'tt-load-error'))
    loadTikTok()
  }

  // ---------------------------------------------------------------- start

  function start() {
    document.querySelectorAll('[data-admin]').forEach(adminOnly)
    renderStatus(state)
    initTikTok()
    initConnection()
    initOptions()
    initMapping()
    initLog()
    initNav()
    initFrame()
    loadFields()
    refreshLog()
    loadStats()
  }

  try {
    start()
  } catch (e) {
    say('global-error', 'error', errText(e))
  }
})()
