/**
 * The one place where a group's state changes. Every peer runs the same `applyNodes`
 * over the same linearized log and gets the same view. It never throws on bad input:
 * an entry that is malformed or that its author had no right to write is recorded in
 * the audit range with the reason, and skipped.
 */
import b4a from 'b4a'
import { parseCommand, type Command, type GroupCreate, type MemberAdd } from './commands.ts'
import { verifyBinding } from './binding.ts'
import { K, ViewTx, type Bee, type GroupMeta, type MemberRecord, type MessageRecord, type InviteRecord, type RoomRecord } from './view.ts'

export const DEFAULT_ROOM = 'general'
export const DM_ROOM = 'dm'

export interface ApplyHost {
  addWriter (key: Buffer, opts: { indexer: boolean }): Promise<void>
}

export interface LogNode { value: Uint8Array | null, from: { key: Buffer } }

class Reject extends Error {}
const reject = (reason: string): never => { throw new Reject(reason) }

export async function applyNodes (nodes: LogNode[], bee: Bee, host: ApplyHost, bootstrapKey: Buffer): Promise<void> {
  const tx = new ViewTx(bee)
  for (const node of nodes) {
    if (node.value === null) continue // autobase ack
    const writer = b4a.toString(node.from.key, 'hex') as string
    const parsed = parseCommand(node.value)
    if (!parsed.ok) {
      await audit(tx, writer, parsed.type, parsed.reason)
      continue
    }
    tx.begin()
    try {
      await applyCommand(tx, parsed.cmd, node.from.key, writer, host, bootstrapKey)
    } catch (err) {
      if (!(err instanceof Reject)) throw err // storage failure: not the entry's fault
      tx.rollback()
      await audit(tx, writer, parsed.cmd.t, err.message)
    }
  }
  await tx.flush()
}

/** Appends to the change feed that event listeners follow (new, edited, deleted messages). */
async function changed (tx: ViewTx, seq: number) {
  tx.put(K.change(await tx.next('change')), seq)
}

async function audit (tx: ViewTx, writer: string, type: string, reason: string) {
  const n = await tx.next('audit')
  tx.put(K.audit(n), { n, writer, type, reason })
}

async function applyCommand (tx: ViewTx, cmd: Command, writerKey: Buffer, writer: string, host: ApplyHost, bootstrapKey: Buffer) {
  const meta = await tx.get<GroupMeta>(K.meta)
  if (cmd.t === 'group/create') return createGroup(tx, cmd, meta, writerKey, writer, bootstrapKey)
  if (!meta) reject('group not created yet')

  const link = await tx.get<{ member: string }>(K.writer(writer))
  const author = link ? await tx.get<MemberRecord>(K.member(link.member)) : null
  if (!author) return reject('writer is not a member')
  const isAdmin = author.role === 'admin'

  switch (cmd.t) {
    case 'member/add': {
      if (!isAdmin) reject('only admins add members')
      return addMember(tx, cmd, meta!, host, bootstrapKey)
    }
    case 'invite/create': {
      if (!isAdmin) reject('only admins create invites')
      if (meta!.kind !== 'group') reject('no invites in a direct conversation')
      const key = K.invite(b4a.toString(cmd.id, 'hex'))
      if (await tx.get(key)) reject('invite id already exists')
      const record: InviteRecord = { publicKey: b4a.toString(cmd.publicKey, 'hex'), role: cmd.role, expires: cmd.expires, uses: cmd.uses, used: 0, createdBy: author.id }
      return tx.put(key, record)
    }
    case 'room/create': {
      if (meta!.kind !== 'group') reject('no rooms in a direct conversation')
      if (await tx.get(K.room(cmd.name))) reject('room exists')
      const room: RoomRecord = { name: cmd.name, createdBy: author.id, ts: cmd.ts }
      return tx.put(K.room(cmd.name), room)
    }
    case 'message/post': {
      if (!(await tx.get(K.room(cmd.room)))) reject('no such room')
      if ((await tx.get(K.messageId(cmd.id))) !== null) reject('duplicate message id')
      // every check before the first write: a rejected entry must leave the view untouched
      if (cmd.replyTo && (await tx.get(K.messageId(cmd.replyTo))) === null) reject('reply to an unknown message')
      const seq = await tx.next('msg')
      const msg: MessageRecord = { seq, id: cmd.id, author: author.id, room: cmd.room, text: cmd.text, ts: cmd.ts }
      if (cmd.replyTo) msg.replyTo = cmd.replyTo
      tx.put(K.message(seq), msg)
      tx.put(K.roomIndex(cmd.room, seq), 0)
      tx.put(K.messageId(cmd.id), seq)
      return changed(tx, seq)
    }
    case 'message/edit':
    case 'message/delete': {
      const seq = await tx.get<number>(K.messageId(cmd.id))
      const msg = seq === null ? null : await tx.get<MessageRecord>(K.message(seq))
      if (!msg) return reject('no such message')
      if (msg.author !== author.id) reject('only the author edits or deletes a message')
      if (msg.deleted) reject('message is deleted')
      const next: MessageRecord = cmd.t === 'message/edit'
        ? { ...msg, text: cmd.text, editedTs: cmd.ts }
        : { ...msg, text: '', deleted: true, editedTs: cmd.ts }
      tx.put(K.message(msg.seq), next)
      return changed(tx, msg.seq)
    }
    case 'dm/offer':
    case 'dm/accept': {
      if (meta!.kind !== 'group') reject('dm signals travel in groups only')
      const n = await tx.next('dm')
      return tx.put(K.dm(n), { n, t: cmd.t, from: author.id, box: cmd.box, ts: cmd.ts })
    }
  }
}

async function createGroup (tx: ViewTx, cmd: GroupCreate, meta: GroupMeta | null, writerKey: Buffer, writer: string, bootstrapKey: Buffer) {
  if (meta) reject('group already created')
  if (!b4a.equals(writerKey, bootstrapKey)) reject('only the bootstrap writer creates the group')
  if (!verifyBinding(bootstrapKey, writerKey, cmd.member, cmd.sig)) reject('bad device binding signature')
  if (cmd.kind === 'dm' && !cmd.peer) reject('a direct conversation names its peer')
  const creator = b4a.toString(cmd.member, 'hex') as string
  const record: GroupMeta = { kind: cmd.kind, name: cmd.name, creator, ts: cmd.ts }
  if (cmd.peer) record.peer = b4a.toString(cmd.peer, 'hex')
  tx.put(K.meta, record)
  const member: MemberRecord = { id: creator, name: cmd.memberName, role: 'admin', joinedTs: cmd.ts, writers: [writer] }
  tx.put(K.member(creator), member)
  tx.put(K.writer(writer), { member: creator })
  const room = cmd.kind === 'dm' ? DM_ROOM : DEFAULT_ROOM
  tx.put(K.room(room), { name: room, createdBy: creator, ts: cmd.ts })
}

async function addMember (tx: ViewTx, cmd: MemberAdd, meta: GroupMeta, host: ApplyHost, bootstrapKey: Buffer) {
  const id = b4a.toString(cmd.member, 'hex') as string
  const writer = b4a.toString(cmd.writer, 'hex') as string
  if (!verifyBinding(bootstrapKey, cmd.writer, cmd.member, cmd.sig)) reject('bad device binding signature')
  if (await tx.get(K.writer(writer))) reject('writer already belongs to a member')
  if (await tx.get(K.member(id))) reject('already a member')
  let role = cmd.role
  if (meta.kind === 'dm') {
    if (meta.peer !== id) reject('only the named peer joins a direct conversation')
    role = 'member'
  } else if (cmd.invite) {
    const key = K.invite(b4a.toString(cmd.invite, 'hex'))
    const invite = await tx.get<InviteRecord>(key)
    if (!invite) return reject('unknown invite')
    if (cmd.ts > invite.expires) reject('invite expired')
    if (invite.used >= invite.uses) reject('invite used up')
    role = invite.role // the invite fixes the role; the admitting admin cannot change it
    tx.put(key, { ...invite, used: invite.used + 1 })
  }
  const member: MemberRecord = { id, name: cmd.name, role, joinedTs: cmd.ts, writers: [writer] }
  tx.put(K.member(id), member)
  tx.put(K.writer(writer), { member: id })
  await host.addWriter(cmd.writer, { indexer: false })
}
