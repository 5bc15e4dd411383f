export { startMirror, loadOrCreateKeyPair, KEY_FILE, DB_DIR } from './mirror.ts'
export type { MirrorOptions, MirrorStats, RunningMirror } from './mirror.ts'
