// @xmpp/component ships no TypeScript types; the bridge's view of it is in stanzas.ts.
declare module '@xmpp/component'
