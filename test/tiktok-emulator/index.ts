/**
 * The TikTok API for Business emulator's public entry: what tests, bench/ and scripts/ use of
 * it. Everything else in this folder is how it works inside and may change without notice.
 *
 * - `buildTikTokEmulator(options)`: the emulator (auth page, Marketing API, lead webhooks, CRM
 *   event sets and the Events API, BASIC reports, faults, demo).
 * - The shapes of it: options, forms, leads, subscriptions, tracked events, ad stats, faults,
 *   recorded traffic.
 *
 * Like the rest of the emulator it imports nothing from src/ (nor from the Bitrix24 emulator),
 * and src/ never imports it (test/emulator/boundaries.test.ts checks these).
 */
export { buildTikTokEmulator } from './app.js'
export type * from './types.js'
