import { Transform, type Readable } from 'node:stream'

/**
 * The file passed through, failing with `onIdle()` when no byte arrives for `ms`: a download may
 * take long, but a stalled one must not hang the backfill for ever. The clock runs only while the
 * consumer is reading (a slow consumer is not a stalled download). Real time, not the app's clock:
 * it watches a socket.
 */
export function idleTimeout(source: Readable, ms: number, onIdle: () => Error): Readable {
  let timer: NodeJS.Timeout | undefined
  const out = new Transform({
    transform(chunk, _enc, done) {
      clearTimeout(timer)
      done(null, chunk)
    },
    flush(done) {
      clearTimeout(timer)
      done()
    },
    read(size) {
      arm()
      Transform.prototype._read.call(this, size)
    },
    destroy(err, done) {
      clearTimeout(timer)
      source.destroy()
      done(err)
    },
  })
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => out.destroy(onIdle()), ms)
    timer.unref?.()
  }
  source.on('error', (err) => out.destroy(err))
  source.pipe(out)
  return out
}
