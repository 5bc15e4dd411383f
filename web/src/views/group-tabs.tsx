/** The sections of a group (chat, pads, members, invite for admins) as tab-like links. */
import type { AppContext } from '../app.tsx'
import { useT } from '../i18n.ts'
import { href } from '../route.ts'
import { MeetingTabLabel } from './meeting.tsx'

export function GroupTabs ({ ctx, group, current }: { ctx: AppContext, group: string, current: 'chat' | 'pads' | 'meeting' | 'members' | 'invite' }) {
  const t = useT()
  const admin = ctx.groups.find((g) => g.id === group)?.role === 'admin'
  const tab = (id: typeof current, label: string | preact.JSX.Element, link: string) =>
    <a href={link} aria-current={current === id ? 'page' : undefined}>{label}</a>
  return (
    <nav class="tabs" aria-label={t('chat.groupNav')}>
      {tab('chat', t('chat.chat'), href('g', group))}
      {tab('pads', t('chat.pads'), href('g', group, 'pads'))}
      {tab('meeting', <MeetingTabLabel group={group} />, href('g', group, 'meeting'))}
      {tab('members', t('chat.members'), href('g', group, 'members'))}
      {admin ? tab('invite', t('chat.invite'), href('g', group, 'invite')) : null}
    </nav>
  )
}
