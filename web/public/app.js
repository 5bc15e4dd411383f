// Placeholder web UI: shows who this node is and its groups, read from the local API.
// The API token comes from the address the node printed (http://127.0.0.1:PORT/#token=...);
// it is kept in sessionStorage and removed from the address bar. No external resources.
'use strict'

const KEY = 'solidar.token'

function takeToken () {
  const params = new URLSearchParams(location.hash.slice(1))
  const fromHash = params.get('token')
  if (fromHash) {
    sessionStorage.setItem(KEY, fromHash)
    history.replaceState(null, '', location.pathname + location.search)
    return fromHash
  }
  return sessionStorage.getItem(KEY)
}

const token = takeToken()
const $ = (id) => document.getElementById(id)

function setState (en, de) {
  $('state').textContent = de ? `${en} / ${de}` : en
}

async function api (path) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' })
  const body = await res.json().catch(() => null)
  if (!res.ok) {
    const message = body && body.error ? body.error.message : `HTTP ${res.status}`
    const err = new Error(message)
    err.status = res.status
    throw err
  }
  return body
}

async function load () {
  if (!token) {
    setState('No API token. Open the address that `solidar serve` printed (it ends in #token=…).',
      'Kein API-Token. Öffne die Adresse, die `solidar serve` ausgegeben hat (sie endet auf #token=…).')
    return
  }
  try {
    const [me, groups] = await Promise.all([api('/api/whoami'), api('/api/groups')])
    $('me-name').textContent = me.name
    $('me-id').textContent = me.id
    $('me-fingerprint').textContent = me.fingerprint
    $('me').hidden = false

    const list = $('group-list')
    list.replaceChildren()
    for (const g of groups) {
      const li = document.createElement('li')
      const name = document.createElement('strong')
      name.textContent = g.name
      li.append(name, ` — ${g.members} · ${g.role ?? '–'} · `)
      const id = document.createElement('code')
      id.textContent = g.id
      li.append(id)
      list.append(li)
    }
    $('no-groups').hidden = groups.length > 0
    $('groups').hidden = false
    setState('Connected to your node.', 'Mit deinem Knoten verbunden.')
  } catch (err) {
    if (err.status === 401) {
      sessionStorage.removeItem(KEY)
      setState('The API token was refused. Open the address that `solidar serve` printed.',
        'Das API-Token wurde abgelehnt. Öffne die Adresse, die `solidar serve` ausgegeben hat.')
    } else {
      setState(`Cannot reach your node: ${err.message}`, `Knoten nicht erreichbar: ${err.message}`)
    }
  }
}

$('refresh').addEventListener('click', load)
load()
