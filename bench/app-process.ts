/**
 * The app as a child process, as in production (`src/server.ts` under tsx), with its peak RSS
 * sampled from /proc while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class AppProcess {
  child: ChildProcess | null = null
  peakRssMb = 0
  #sampler: NodeJS.Timeout | null = null
  constructor(
    readonly env: Record<string, string>,
    readonly url: string,
  ) {}
  async start(): Promise<void> {
    if (this.child) return
    this.child = spawn(
      process.execPath,
      [
        ...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []),
        '--import',
        'tsx',
        'src/server.ts',
      ],
      { env: { ...process.env, ...this.env }, stdio: ['ignore', 'ignore', 'inherit'] },
    )
    for (let i = 0; i < 300; i++) {
      if (
        await fetch(`${this.url}/ready`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break
      await sleep(100)
    }
    this.peakRssMb = 0
    this.#sampler = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${this.child!.pid}/status`, 'utf8')
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
        this.peakRssMb = Math.max(this.peakRssMb, kb / 1024)
      } catch {
        // process gone
      }
    }, 200)
  }
  async stop(): Promise<void> {
    if (this.#sampler) clearInterval(this.#sampler)
    if (!this.child) return
    const exited = new Promise((r) => this.child!.once('exit', r))
    this.child.kill('SIGTERM')
    await Promise.race([exited, sleep(15_000)])
    this.child.kill('SIGKILL')
    this.child = null
  }
}
