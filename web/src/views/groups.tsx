/** Creating a group, inviting (code + QR, role, expiry, uses; the list of invites to revoke) and joining with a code. */
import { nameKey } from '@solidar/core/resolve'
import { useState } from 'preact/hooks'
import { api } from '../api.ts'
import type { AppContext } from '../app.tsx'
import { formatTime, useT } from '../i18n.ts'
import { go } from '../route.ts'
import type { InviteResult, Role } from '../types.ts'
import { CodeBox, ErrorBox, Qr } from '../ui.tsx'
import { GroupTabs } from './group-tabs.tsx'
import { InviteList } from './invites.tsx'

export function NewGroup ({ ctx }: { ctx: AppContext }) {
  const t = useT()
  const [name, setName] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    try {
      const g = await api.createGroup(name.trim())
      await ctx.reloadGroups()
      go('g', g.id)
    } catch (err) { setError(err) } finally { setBusy(false) }
  }
  return (
    <section>
      <h1>{t('newGroup.title')}</h1>
      <form onSubmit={submit} class="stack">
        <label>{t('newGroup.name')}
          <input required maxLength={512} value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} autoFocus /></label>
        <p class="muted">{t('newGroup.note')}</p>
        {/* Two groups of one name are hard to tell apart (and by name on the CLI, ambiguous). */}
        {name.trim() !== '' && ctx.groups.some((g) => nameKey(g.name) === nameKey(name))
          ? <p class="notice" role="status" data-testid="same-name">{t('newGroup.sameName', { name: name.trim() })}</p>
          : null}
        <ErrorBox error={error} />
        <button type="submit" disabled={busy || name.trim() === ''}>{t('newGroup.create')}</button>
      </form>
    </section>
  )
}

const EXPIRIES: Array<[string, number]> = [['1h', 3600_000], ['24h', 86_400_000], ['7d', 7 * 86_400_000], ['30d', 30 * 86_400_000]]

export function Invite ({ ctx, group }: { ctx: AppContext, group: string }) {
  const t = useT()
  const [role, setRole] = useState<Role>('member')
  const [expires, setExpires] = useState(86_400_000)
  const [uses, setUses] = useState(1)
  const [invite, setInvite] = useState<InviteResult | null>(null)
  const [made, setMade] = useState(0)
  const [error, setError] = useState<unknown>(null)
  const info = ctx.groups.find((g) => g.id === group)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    try {
      setInvite(await api.invite(group, { role, expiresMs: expires, uses }))
      setMade((n) => n + 1)
      setError(null)
    } catch (err) { setError(err) }
  }
  return (
    <section>
      <header class="view-head">
        <h1>{t('invite.title', { group: info?.name ?? '' })}</h1>
        <GroupTabs ctx={ctx} group={group} current="invite" />
      </header>
      {info !== undefined && info.role !== 'admin' ? <p class="muted">{t('invite.adminsOnly')}</p> : null}
      <form onSubmit={submit} class="stack">
        <label>{t('invite.role')}
          <select value={role} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value as Role)}>
            <option value="member">{t('role.member')}</option>
            <option value="observer">{t('role.observer')}</option>
            <option value="admin">{t('role.admin')}</option>
          </select></label>
        <label>{t('invite.expires')}
          <select value={String(expires)} onChange={(e) => setExpires(Number((e.currentTarget as HTMLSelectElement).value))}>
            {EXPIRIES.map(([k, ms]) => <option value={String(ms)}>{t(`invite.expiry.${k}` as 'invite.expiry.1h')}</option>)}
          </select></label>
        <label>{t('invite.uses')}
          <input type="number" min={1} max={10000} value={uses} onInput={(e) => setUses(Math.max(1, Number((e.currentTarget as HTMLInputElement).value) || 1))} /></label>
        <ErrorBox error={error} />
        <button type="submit">{t('invite.create')}</button>
      </form>
      {invite !== null
        ? (
          <div class="invite-result" aria-live="polite">
            <CodeBox code={invite.code} label={t('invite.code')} />
            <Qr text={invite.code} label={t('invite.qr')} />
            <p>{t('invite.details', { role: t(`role.${invite.role}` as 'role.member'), uses: invite.uses, expires: formatTime(invite.expires) })}</p>
            <p class="muted">{t('invite.howto')}</p>
          </div>
          )
        : null}
      {info?.role === 'admin' ? <InviteList group={group} version={made} /> : null}
    </section>
  )
}

export function JoinGroup ({ ctx }: { ctx: AppContext }) {
  const t = useT()
  const [code, setCode] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const g = await api.join(code)
      await ctx.reloadGroups()
      go('g', g.id)
    } catch (err) { setError(err) } finally { setBusy(false) }
  }
  return (
    <section>
      <h1>{t('join.title')}</h1>
      <form onSubmit={submit} class="stack">
        <label>{t('join.code')}
          <textarea required rows={3} value={code} onInput={(e) => setCode((e.currentTarget as HTMLTextAreaElement).value)} placeholder="solidar1…" /></label>
        <p class="muted">{t('join.note')}</p>
        <ErrorBox error={error} />
        <button type="submit" disabled={busy || code.trim() === ''}>{busy ? t('join.waiting') : t('join.submit')}</button>
        {busy ? <p role="status">{t('join.waiting')}</p> : null}
      </form>
    </section>
  )
}
