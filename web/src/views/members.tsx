/** Members of a group: roles, verification (safety number), DMs; admins change roles and remove. */
import { useOnline } from '../presence.ts'
import { useEffect, useState } from 'preact/hooks'
import { api, onEvent } from '../api.ts'
import type { Verification } from '../api.ts'
import type { AppContext } from '../app.tsx'
import { formatTime, useT, type T } from '../i18n.ts'
import { go, href } from '../route.ts'
import type { MemberView, Role } from '../types.ts'
import { GroupTabs } from './group-tabs.tsx'
import { ErrorBox } from '../ui.tsx'

/** `"alice" (key 1a2b3c4d…), "аlice" (key 9f8e7d6c…)`: a member and those whose names look the same, quoted so spaces show, with the start of each key to tell them apart. */
function lookAlikeNames (m: MemberView, members: MemberView[], t: T): string {
  const names = [m, ...(m.lookAlike ?? []).map((id) => members.find((x) => x.id === id)).filter((x) => x !== undefined)]
  return names.map((x) => `"${x.name}" (${t('members.key', { key: `${x.id.slice(0, 8)}…` })})`).join(', ')
}

export function Members ({ ctx, group }: { ctx: AppContext, group: string }) {
  const t = useT()
  const [members, setMembers] = useState<MemberView[] | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [verifying, setVerifying] = useState<Verification | null>(null)
  const [rename, setRename] = useState('')
  const info = ctx.groups.find((g) => g.id === group)
  const admin = info?.role === 'admin'

  const load = async (): Promise<void> => {
    try { setMembers(await api.members(group)); setError(null) } catch (err) { setError(err) }
  }
  useEffect(() => {
    void load()
    return onEvent((e) => { if ((e.type === 'members' || e.type === 'group') && e.group === group) void load() })
  }, [group])

  let left: { pending: boolean } | null = null
  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    try { await fn(); await load(); await ctx.reloadGroups() } catch (err) { setError(err) }
  }
  const verify = async (m: MemberView): Promise<void> => {
    try { setVerifying(await api.verification(m.id)) } catch (err) { setError(err) }
  }

  const online = useOnline(group)
  return (
    <section>
      <header class="view-head">
        <h1>{t('members.title', { group: info?.name ?? '' })}</h1>
        <GroupTabs ctx={ctx} group={group} current="members" />
      </header>
      <ErrorBox error={error} />
      {members === null
        ? <p role="status">{t('app.loading')}</p>
        : (
          <ul class="members">
            {members.map((m) => {
              const self = m.id === ctx.me.id
              return (
                <li>
                  <div>
                    <strong>{m.name}</strong>{self ? <span class="muted"> ({t('members.you')})</span> : null}
                    {!self && online?.some((o) => o.member === m.id) === true ? <span class="online" data-testid="online"> ● {t('members.online')}</span> : null}
                    {' '}<span class="role">{t(`role.${m.role}` as 'role.member')}</span>
                    {m.bridge === true ? <span class="bridge-badge" data-testid="bridge-badge"> {t('members.bridge')}</span> : null}
                    {m.verified === true ? <span class="verified" title={t('members.verified')}> ✓ {t('members.verified')}</span> : null}
                    {m.keyChanged === true ? <span class="warning" role="alert"> {t('members.keyChanged')}</span> : null}
                    {m.lookAlike !== undefined
                      ? <div class="warning look-alike" role="note">{t('members.lookAlike', { names: lookAlikeNames(m, members, t) })}</div>
                      : null}
                    {m.keyChanged === true || m.lookAlike !== undefined ? <div class="muted small">{t('members.key', { key: m.id })}</div> : null}
                    {m.bridge === true ? <div class="note small" role="note">{t('members.bridgeNote')}</div> : null}
                    <div class="muted small">{t('members.joined', { when: formatTime(m.joinedTs) })}</div>
                  </div>
                  {!self
                    ? (
                      <div class="member-actions">
                        <button type="button" onClick={() => { ctx.addDm(m.id, m.name); go('dm', m.id) }}>{t('members.message', { name: m.name })}</button>
                        <button type="button" onClick={() => { void verify(m) }}>{t('members.verify')}</button>
                        {admin
                          ? <>
                            <label><span class="sr-only">{t('members.roleOf', { name: m.name })}</span>
                              <select value={m.role} onChange={(e) => { const role = (e.currentTarget as HTMLSelectElement).value as Role; void act(() => api.setRole(group, m.id, role)) }}>
                                <option value="admin">{t('role.admin')}</option>
                                <option value="member">{t('role.member')}</option>
                                <option value="observer">{t('role.observer')}</option>
                              </select></label>
                            <button type="button" class="danger" onClick={() => { if (confirm(t('members.confirmRemove', { name: m.name }))) void act(() => api.removeMember(group, m.id)) }}>{t('members.remove')}</button>
                          </>
                          : null}
                      </div>
                      )
                    : null}
                </li>
              )
            })}
          </ul>
          )}
      {verifying !== null
        ? (
          <div class="panel" role="region" aria-label={t('members.verifyTitle', { name: verifying.name })}>
            <h2>{t('members.verifyTitle', { name: verifying.name })}</h2>
            <p>{t('members.verifyHowto', { name: verifying.name })}</p>
            <p class="safety" aria-label={t('members.safetyNumber')}>{verifying.safetyNumber}</p>
            {typeof verifying.warning === 'string' ? <p class="warning">{verifying.warning}</p> : null}
            <button type="button" onClick={async () => { try { setVerifying(await api.markVerified(verifying.member, !verifying.verified)); await load() } catch (err) { setError(err) } }}>
              {verifying.verified ? t('members.unmark') : t('members.mark')}
            </button>
            <button type="button" onClick={() => setVerifying(null)}>{t('common.close')}</button>
          </div>
          )
        : null}
      {admin
        ? (
          <form class="inline" onSubmit={(e) => { e.preventDefault(); if (rename.trim() !== '') void act(() => api.renameGroup(group, rename.trim())).then(() => setRename('')) }}>
            <label>{t('members.rename')} <input value={rename} maxLength={512} onInput={(e) => setRename((e.currentTarget as HTMLInputElement).value)} /></label>
            <button type="submit">{t('common.save')}</button>
          </form>
          )
        : null}
      <p><button type="button" class="danger" onClick={() => { if (confirm(t('members.confirmLeave'))) void act(async () => { left = await api.leaveGroup(group) }).then(() => left?.pending === true ? go('network') : go()) }}>{t('members.leave')}</button></p>
    </section>
  )
}
