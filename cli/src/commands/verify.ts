/** `solidar verify MEMBER [--mark|--unmark]`: compare keys in person, remember who is verified. */
import { Option, type Command } from 'commander'
import type { VerificationResult } from '@solidar/core'
import { clientOf } from '../context.ts'
import { seg } from '../client.ts'
import { print, printJson, sanitize } from '../output.ts'

/** The 12 groups of 5 digits as 3 lines of 4 groups. */
function numberLines (safetyNumber: string): string[] {
  const groups = safetyNumber.split(' ')
  const lines: string[] = []
  for (let i = 0; i < groups.length; i += 4) lines.push(groups.slice(i, i + 4).join(' '))
  return lines
}

/** The human-readable verification block. */
export function formatVerification (v: VerificationResult, action?: 'marked' | 'unmarked'): string[] {
  const name = sanitize(v.name)
  const out: string[] = []
  if (v.warning !== undefined) {
    out.push(`!! ${sanitize(v.warning)}`, '')
  }
  out.push(`Safety number with ${name}:`, '')
  for (const line of numberLines(v.safetyNumber)) out.push(`    ${line}`)
  out.push('')
  out.push(`  fingerprint of ${name}:`, `    ${v.fingerprint}`)
  out.push('  your fingerprint:', `    ${v.ownFingerprint}`)
  out.push(`  member id of ${name}:`, `    ${v.member}`)
  out.push('')
  out.push('Compare these digits in person or on a call you trust:')
  out.push(`${name} runs \`solidar verify\` with your name and must see the same 60 digits.`)
  if (action !== 'marked' && !v.verified) {
    out.push('If every digit matches, nobody swapped a key; then mark the member verified:')
    out.push(`  solidar verify ${v.member} --mark`)
  }
  out.push('')
  if (action === 'marked') out.push(`Marked ${name} verified.`)
  else if (action === 'unmarked') out.push(`${name} is no longer marked verified.`)
  else if (v.keyChanged === true) out.push(`Status: !! KEY CHANGED (not verified)`)
  else out.push(`Status: ${v.verified ? 'verified ✓' : 'not verified'}`)
  return out
}

/** Registers `verify`. */
export function registerVerify (program: Command): void {
  program.command('verify')
    .description('show the safety number and fingerprints to compare with a member; mark the member verified')
    .argument('<member>', 'member id, or a display name that matches one member of your groups')
    .addOption(new Option('--mark', 'mark this member\'s key as verified (after comparing the safety number)').conflicts('unmark'))
    .option('--unmark', 'forget that this member\'s key was verified')
    .option('--json', 'print {member, name, fingerprint, ownFingerprint, safetyNumber, verified, keyChanged?, warning?} as JSON')
    .addHelpText('after', `
Compare the safety number with the other member in person or on a call you trust;
both of you see the same 60 digits. \`members GROUP\` shows verified members with ✓ and
warns loudly when someone uses the name of a member you verified with another key.

Examples:
  $ solidar verify bob
  $ solidar verify bob --mark`)
    .action(async (member: string, opts: { mark?: boolean, unmark?: boolean, json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd)
      const path = `/api/members/${seg(member)}/verification`
      const action = opts.mark === true ? 'marked' : opts.unmark === true ? 'unmarked' : undefined
      const result = action === undefined
        ? await client.get<VerificationResult>(path)
        : await client.post<VerificationResult>(path, { mark: action === 'marked' })
      if (opts.json === true) return printJson(result)
      for (const line of formatVerification(result, action)) print(line)
    })
}
