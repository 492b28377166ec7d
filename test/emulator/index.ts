/**
 * The Bitrix24 emulator's public entry: what tests, bench/ and scripts/ use of it. Everything
 * else in this folder is how it works inside and may change without notice.
 *
 * - `buildEmulator(options)`: the emulator (OAuth server, portals, the app lifecycle, faults).
 * - `startFrameHost`: the portal page that frames the app the way Bitrix24 does.
 * - `CONTROL_PATH`: where the JSON control API for another process lives (control.ts).
 * - `detailTabCode`, `detailTabOptions`: a lead or deal card's tab as the portal opens it (detail-tab.ts).
 * - The shapes of all of it: options, portals, faults, recorded traffic.
 *
 * Like the rest of the emulator it imports nothing from src/, and src/ never imports it
 * (test/emulator/boundaries.test.ts checks both).
 */
export { buildEmulator } from './app.js'
export { CONTROL_PATH } from './control.js'
export { detailTabCode, detailTabOptions } from './detail-tab.js'
export { startFrameHost, type FrameHost, type FrameHostOptions } from './frame-host.js'
export type * from './types/crm.js'
export type * from './types/emulator.js'
export type * from './types/faults.js'
export type * from './types/options.js'
export type * from './types/records.js'
