/**
 * The one check for a link anyone else wrote (pad links in every export and in the editor,
 * the history view): is it a web or mail address? Parsed the way a browser parses an href
 * (WHATWG URL): first strip leading and trailing C0 controls and spaces, and remove every
 * ASCII tab and newline anywhere, exactly as the URL spec's parser does; so `java\tscript:`,
 * `\u0001javascript:` or `JavaScript:` are seen as what a browser would run. Only absolute
 * http, https and mailto URLs pass; relative and protocol-relative links (`//host`) do not,
 * since where they lead depends on where the document is opened.
 *
 * Pure (no Node or DOM APIs): the web app imports this file as it is.
 */

/** Schemes a link may have (with the colon, as `URL.protocol` has them). */
export const SAFE_PROTOCOLS: readonly string[] = ['http:', 'https:', 'mailto:']

/** What the URL parser strips before parsing (C0 controls and space at both ends; tab, LF, CR anywhere). */
export function browserClean (href: string): string {
  return href.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '')
}

/**
 * The link as a browser would follow it, or null if it is not an absolute http, https or
 * mailto URL. The result is the cleaned text (not `URL.href`), so a link keeps how it was
 * written; a browser parses it to the same URL.
 */
export function safeUrl (href: unknown): string | null {
  if (typeof href !== 'string') return null
  const clean = browserClean(href)
  let url: URL
  try {
    url = new URL(clean)
  } catch {
    return null // not an absolute URL (relative, protocol-relative, malformed): no link
  }
  return SAFE_PROTOCOLS.includes(url.protocol) ? clean : null
}
