export { startXmppBridge, splitHostPort, MIN_RECONNECT_MS, MAX_RECONNECT_MS, DEFAULT_HISTORY, CATCHUP_WINDOW } from './bridge.ts'
export type { XmppBridgeOptions, RunningBridge } from './bridge.ts'
export { memberLocal } from './stanzas.ts'
