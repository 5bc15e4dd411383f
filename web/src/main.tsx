import { render } from 'preact'
import { setToken, takeToken } from './api.ts'
import { initI18n, t } from './i18n.ts'
import { App } from './app.tsx'
import './style.css'

async function main (): Promise<void> {
  await initI18n()
  const root = document.getElementById('app')!
  const token = takeToken()
  if (token === null) {
    render(<main class="center"><h1>Solidar</h1><p>{t('app.noToken')}</p></main>, root)
    return
  }
  setToken(token)
  render(<App />, root)
}

void main()
