/**
 * The XMPP bridge service's host (bridge-service.ts) over the node's logs. The service sees a
 * log's group, keyring and kind (read live: a reopened log has a new group); it hands back the
 * views it was given, and this maps them to the logs.
 */
import type { BridgeHost, BridgeLog } from '../bridge-service.ts'
import { errors } from '../errors.ts'
import type { Group } from '../group.ts'
import type { MessageView } from '../types.ts'
import { appendChecked, type OpenLog } from './shared.ts'

/** What the bridge host is made of (the facade passes in the other services' functions). */
export interface BridgeHostParts {
  resolveGroup (ref: string): Promise<OpenLog>
  resolveMember (ref: string): Promise<string>
  /** The DM log to write to with `peer` (opened if none is writable), and every DM log with them. */
  dmLogsFor (peer: string): Promise<{ write: OpenLog, all: OpenLog[] }>
  refreshKeys (log: OpenLog): Promise<void>
  requireAdmin (group: Group, what: string): Promise<void>
  metadataEpoch (log: OpenLog): Promise<number>
  currentEpoch (log: OpenLog): Promise<number>
  messageView (log: OpenLog, id: string): Promise<MessageView>
  self (): string
  now (): number
}

export function bridgeHost (node: BridgeHostParts): BridgeHost {
  const logs = new WeakMap<BridgeLog, OpenLog>()
  const view = (log: OpenLog): BridgeLog => {
    const b: BridgeLog = { get group () { return log.group }, get keyring () { return log.keyring }, kind: log.record.kind }
    logs.set(b, log)
    return b
  }
  const asLog = (b: BridgeLog): OpenLog => {
    const log = logs.get(b)
    if (!log) throw new Error('bridge service: a log view that this node did not make') // a programming error
    return log
  }
  return {
    group: async (ref) => view(await node.resolveGroup(ref)),
    dmPeer: async (ref) => {
      const peer = await node.resolveMember(ref)
      if (peer === node.self()) throw errors.badRequest('You cannot send a direct message to yourself')
      return peer
    },
    dmLogs: async (peer) => {
      const { write, all } = await node.dmLogsFor(peer)
      return { write: view(write), all: all.map(view) }
    },
    refreshKeys: (log) => node.refreshKeys(asLog(log)),
    requireAdmin: (log, what) => node.requireAdmin(log.group, what),
    metadataEpoch: (log) => node.metadataEpoch(asLog(log)),
    currentEpoch: (log) => node.currentEpoch(asLog(log)),
    append: (log, cmd) => appendChecked(log.group, cmd),
    messageView: (log, id) => node.messageView(asLog(log), id),
    self: () => node.self(),
    now: () => node.now()
  }
}
