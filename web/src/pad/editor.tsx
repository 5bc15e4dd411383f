/**
 * The collaborative rich-text editor: TipTap bound to the pad's Y.Doc (fragment `default`,
 * the nodes core/src/pads/schema.ts reads and writes), with remote carets and names.
 * CSS injection is off (the CSP allows no inline styles); colours are classes, not styles.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { Editor } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import { useT } from '../i18n.ts'
import { padSchema } from './schema.ts'
import { FIELD, type PadSync } from './sync.ts'
import { colourClass, ownColour } from './colours.ts'

function caret (user: Record<string, unknown>): HTMLElement {
  const el = document.createElement('span')
  el.className = `caret c${colourClass(user.color)}`
  const label = document.createElement('span')
  label.className = 'caret-label'
  label.textContent = typeof user.name === 'string' ? user.name : '?'
  el.append(label)
  return el
}

const textboxAttributes = (label: string) => ({ 'aria-label': label, 'aria-multiline': 'true', role: 'textbox', class: 'pad-text' })

interface Props {
  sync: PadSync
  me: { id: string, name: string }
  readOnly: boolean
  label: string
}

export function PadEditor ({ sync, me, readOnly, label }: Props) {
  const t = useT()
  const host = useRef<HTMLDivElement>(null)
  const [editor, setEditor] = useState<Editor | null>(null)
  const [, rerender] = useState(0)

  useEffect(() => {
    if (host.current === null) return
    const ed = new Editor({
      element: host.current,
      injectCSS: false,
      editable: !readOnly,
      editorProps: { attributes: textboxAttributes(label) },
      extensions: [
        ...padSchema(),
        Collaboration.configure({ document: sync.doc, field: FIELD }),
        CollaborationCaret.configure({
          provider: { awareness: sync.awareness },
          user: { name: me.name, color: ownColour(me.id) },
          render: caret,
          selectionRender: (user: Record<string, unknown>) => ({
            nodeName: 'span',
            class: `caret-selection c${colourClass(user.color)}`
          })
        })
      ],
      onTransaction: () => rerender((n) => n + 1)
    })
    setEditor(ed)
    const onAwareness = (): void => rerender((n) => n + 1)
    sync.awareness.on('change', onAwareness)
    return () => {
      sync.awareness.off('change', onAwareness)
      ed.destroy()
    }
  }, [sync])

  // Archiving, unarchiving and renaming change the same editor (a new one would open at the
  // start of the text for a moment and lose the caret a user just placed).
  useEffect(() => {
    if (editor === null) return
    if (editor.isEditable === readOnly) editor.setEditable(!readOnly)
    editor.setOptions({ editorProps: { attributes: textboxAttributes(label) } })
  }, [editor, readOnly, label])

  const button = (name: string, title: string, active: boolean, run: () => void) => (
    <button type="button" class={active ? 'tool active' : 'tool'} aria-pressed={active} title={title} aria-label={title}
      onMouseDown={(e) => e.preventDefault()} onClick={run} disabled={editor === null || readOnly}>{name}</button>
  )
  const chain = () => editor!.chain().focus()
  const peers = sync.peers()

  return (
    <div class="pad-editor">
      <div class="toolbar" role="toolbar" aria-label={t('pad.toolbar')}>
        {button('B', t('pad.bold'), editor?.isActive('bold') ?? false, () => chain().toggleBold().run())}
        {button('I', t('pad.italic'), editor?.isActive('italic') ?? false, () => chain().toggleItalic().run())}
        {button('</>', t('pad.code'), editor?.isActive('code') ?? false, () => chain().toggleCode().run())}
        {([1, 2, 3] as const).map((level) => button(`H${level}`, t('pad.heading', { level }), editor?.isActive('heading', { level }) ?? false,
          () => chain().toggleHeading({ level }).run()))}
        {button('•', t('pad.bulletList'), editor?.isActive('bulletList') ?? false, () => chain().toggleBulletList().run())}
        {button('1.', t('pad.orderedList'), editor?.isActive('orderedList') ?? false, () => chain().toggleOrderedList().run())}
      </div>
      <p class="present" aria-live="polite">
        {peers.length === 0 ? t('pad.alone') : t('pad.present', { names: peers.map((p) => p.name).join(', ') })}
      </p>
      <div ref={host} class="pad-host" />
    </div>
  )
}
