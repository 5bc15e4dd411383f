// @xmpp/client ships no TypeScript types. (Holepunch shims live in types/holepunch.d.ts.)
declare module '@xmpp/client'
