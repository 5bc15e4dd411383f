/**
 * The editor's document schema as TipTap extensions: the pad model of core/src/pads/schema.ts
 * (paragraph, heading 1–3, bullet and ordered lists; bold, italic, code, link). Apart from the
 * editor so that a Node test (test/editor-schema.test.ts) can check that the Yjs binding sees
 * a document written by core (import, template, `pad append`) as unchanged.
 */
import type { Extensions } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import Link from '@tiptap/extension-link'
import { safeUrl } from '@solidar/core/safe-url'

/**
 * The pad model's link mark is {href}. TipTap's Link keeps target="_blank" and rel as mark
 * attributes; y-tiptap compares mark attributes when it diffs the editor against the Y.Doc, so
 * every link not typed in this editor (imported, from the CLI) looked changed, and the next
 * edit in its paragraph deleted and re-inserted the paragraph's text: the history then credited
 * that text to whoever pressed Enter. Here they are not kept on the mark (null, which y-tiptap
 * ignores; links made by an older editor keep theirs) and every link is rendered with them.
 */
const PadLink = Link.extend({
  addAttributes () {
    const notKept = { default: null, rendered: false, parseHTML: () => null }
    return { ...this.parent?.(), target: notKept, rel: notKept, class: notKept }
  }
})

export function padSchema (): Extensions {
  return [
    StarterKit.configure({
      // Only what a pad's model holds; Yjs brings its own undo.
      undoRedo: false,
      blockquote: false,
      codeBlock: false,
      horizontalRule: false,
      strike: false,
      underline: false,
      link: false,
      heading: { levels: [1, 2, 3] }
    }),
    // The one link check of core (safe-url.ts): TipTap's own lets `\u0001javascript:` through,
    // which a browser runs. Used when a link is rendered, pasted, typed or set. No `protocols`:
    // http, https and mailto are linkify's own, and registering them again from a second editor
    // (the history panel beside the pad) logged "linkifyjs: already initialized" each time.
    PadLink.configure({ openOnClick: false, autolink: true, isAllowedUri: (url) => safeUrl(url) !== null })
  ]
}
