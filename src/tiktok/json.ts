/**
 * JSON parsing that keeps TikTok's 19-digit ids intact.
 *
 * TikTok sends lead, advertiser, campaign and ad ids either as strings or as bare JSON numbers
 * such as 7212345678901234567, which `JSON.parse` silently rounds to 7212345678901234000: two
 * different leads would then share one dedupe key. Node 20's `JSON.parse` reviver gets no
 * `context.source`, so the raw digits are gone by the time a reviver sees the value. Instead a
 * small scanner walks the text once, tracks whether it is inside a string and whether the next
 * token is a value, and wraps every integer literal beyond Number.MAX_SAFE_INTEGER in quotes
 * before handing the text to `JSON.parse`. Floats, exponents and safe integers are left alone.
 *
 * @see https://business-api.tiktok.com/portal/docs (ids are 64-bit integers: never let them pass through a JS number)
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** 2^53 − 1 has 16 digits, so a body without a 16-digit run cannot hold an unsafe integer and skips the scan. */
const MIGHT_HAVE_BIG_INT = /\d{16}/

/**
 * Deepest nesting of arrays and objects a body may have. TikTok's lead bodies nest four levels
 * (body → entry → change → a multi-select list); code that walks a parsed answer recursively
 * (answerText, zod, JSON.stringify) overflows the stack somewhere past a few thousand levels, so a
 * 50,000-deep array would answer 500. 64 is far above any real lead and far below that.
 */
export const MAX_JSON_DEPTH = 64

/** The body nests deeper than the limit: the route answers 400, as for any other bad JSON. */
export class JsonDepthError extends SyntaxError {
  constructor(readonly maxDepth: number) {
    super(`Invalid JSON: arrays and objects nest deeper than ${maxDepth} levels`)
    this.name = 'JsonDepthError'
  }
}

export function parseJsonPreservingBigInts(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  // Before JSON.parse: nothing that deep is ever built, let alone walked.
  if (nestsDeeperThan(text, maxDepth)) throw new JsonDepthError(maxDepth)
  const prepared = MIGHT_HAVE_BIG_INT.test(text) ? quoteUnsafeIntegers(text) : text
  try {
    return JSON.parse(prepared) as unknown
  } catch (err) {
    // The rewrite only swaps valid number tokens for valid string tokens, so the original text
    // fails the same way; parse it again to get an error whose positions match the caller's body.
    throw describeJsonError(text, prepared === text ? err : undefined)
  }
}

/**
 * The index of the quote that closes the string opening at `start` (or the text's length).
 * A backslash always escapes exactly the next character (\" \\ \uXXXX).
 */
function stringEnd(text: string, start: number): number {
  const n = text.length
  let i = start + 1
  while (i < n) {
    const s = text.charCodeAt(i)
    if (s === 0x5c /* \ */) i += 2
    else if (s === 0x22) return i
    else i++
  }
  return n
}

/**
 * Whether brackets outside strings nest deeper than `max`. One pass over the text; strings are
 * skipped whole, so `"[[[["` inside an answer does not count. Invalid JSON is JSON.parse's to reject.
 */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      i = stringEnd(text, i)
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--
    }
  }
  return false
}

/**
 * The exact source text of each element of the array under `key` of the top-level object, e.g.
 * every entry of a lead notification as TikTok wrote it (19-digit ids and all), or null when the
 * top level is not an object with such an array. A repeated key counts by its last occurrence, as
 * in JSON.parse. Call it only on text that JSON.parse accepted: it checks no syntax of its own.
 */
export function topLevelArrayElements(text: string, key: string): string[] | null {
  let depth = 0
  let topIsObject = false
  let expectKey = false
  let keyMatched = false
  let collecting: string[] | null = null
  let elementStart = -1
  let found: string[] | null = null
  const n = text.length
  const endElement = (end: number) => {
    if (collecting && elementStart >= 0) collecting.push(text.slice(elementStart, end).trimEnd())
    elementStart = -1
  }

  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue
    if (collecting && depth === 2 && elementStart < 0 && c !== 0x2c && c !== 0x5d) elementStart = i
    if (c === 0x22 /* " */) {
      const start = i + 1
      i++
      while (i < n) {
        const s = text.charCodeAt(i)
        if (s === 0x5c /* \ */) i += 2
        else if (s === 0x22) break
        else i++
      }
      if (depth === 1 && topIsObject && expectKey) {
        keyMatched = text.slice(start, i) === key
        expectKey = false
      }
      continue
    }
    switch (c) {
      case 0x7b /* { */:
        if (depth === 0) {
          topIsObject = true
          expectKey = true
        }
        if (depth === 1) keyMatched = false
        depth++
        break
      case 0x5b /* [ */:
        if (depth === 1) {
          collecting = topIsObject && keyMatched ? [] : null
          keyMatched = false
        }
        depth++
        break
      case 0x5d /* ] */:
        if (depth === 2 && collecting) {
          endElement(i)
          found = collecting
          collecting = null
        }
        depth--
        break
      case 0x7d /* } */:
        depth--
        break
      case 0x2c /* , */:
        if (depth === 1) {
          expectKey = true
          keyMatched = false
        } else if (depth === 2 && collecting) endElement(i)
        break
      default:
      // ':' and the characters of numbers, true, false and null
    }
  }
  return found
}

function describeJsonError(text: string, known: unknown): SyntaxError {
  let reason = known instanceof Error ? known.message : ''
  if (!reason) {
    try {
      JSON.parse(text)
      reason = 'unparsable input'
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err)
    }
  }
  if (text.trim() === '') reason = 'the body is empty'
  const where = positionOf(text, reason)
  return new SyntaxError(`Invalid JSON: ${reason}${where}`)
}

/** V8 reports "at position N"; turn that into a line and column a person can find. */
function positionOf(text: string, reason: string): string {
  const m = /position (\d+)/.exec(reason)
  if (!m?.[1]) return ''
  const pos = Number(m[1])
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  const column = pos - before.lastIndexOf('\n')
  return ` (line ${line}, column ${column})`
}

type Container = 'object' | 'array'

/**
 * Rewrite `text`, quoting integer literals that do not fit a JS number. Only numbers in value
 * position are touched (after `:`, `[`, a `,` inside an array, or at the top level), so the
 * rewrite never turns invalid JSON (such as a bare number used as an object key) into valid JSON.
 */
function quoteUnsafeIntegers(text: string): string {
  const out: string[] = []
  const stack: Container[] = []
  // Whether the next token would be a value (as opposed to a key, a separator or garbage).
  let expectValue = true
  let copiedUpTo = 0
  let i = 0
  const n = text.length

  while (i < n) {
    const c = text.charCodeAt(i)

    if (c === 0x22 /* " */) {
      i = stringEnd(text, i) + 1
      expectValue = false
      continue
    }

    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i
      if (c === 0x2d) i++
      const digitsStart = i
      while (i < n && isDigit(text.charCodeAt(i))) i++
      const digits = text.slice(digitsStart, i)
      const next = i < n ? text.charCodeAt(i) : -1
      const isPlainInteger =
        digits.length > 0 && next !== 0x2e /* . */ && next !== 0x65 /* e */ && next !== 0x45 /* E */
      // A leading zero ("0123") is invalid JSON; leave it for JSON.parse to reject.
      const wellFormed = digits.length === 1 || !digits.startsWith('0')
      if (expectValue && isPlainInteger && wellFormed && digits.length >= 16) {
        const literal = text.slice(start, i)
        const magnitude = BigInt(digits)
        if (magnitude > MAX_SAFE) {
          out.push(text.slice(copiedUpTo, start), '"', literal, '"')
          copiedUpTo = i
        }
      }
      // Skip any fraction or exponent as part of the same token.
      while (i < n && isNumberChar(text.charCodeAt(i))) i++
      expectValue = false
      continue
    }

    switch (c) {
      case 0x7b /* { */:
        stack.push('object')
        expectValue = false // a key comes next
        break
      case 0x5b /* [ */:
        stack.push('array')
        expectValue = true
        break
      case 0x7d /* } */:
      case 0x5d /* ] */:
        stack.pop()
        expectValue = false
        break
      case 0x3a /* : */:
        expectValue = true
        break
      case 0x2c /* , */:
        expectValue = stack[stack.length - 1] === 'array'
        break
      case 0x20:
      case 0x09:
      case 0x0a:
      case 0x0d:
        break
      default:
        // true / false / null or garbage: either way the next token is not a value.
        expectValue = false
    }
    i++
  }

  if (copiedUpTo === 0) return text
  out.push(text.slice(copiedUpTo))
  return out.join('')
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function isNumberChar(c: number): boolean {
  return isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d
}
