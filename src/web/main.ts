import './assets/main.css'
import { createApp } from 'vue'
import { createApi } from './api.js'
import App from './App.vue'
import { isCardBoot, readBoot } from './boot.js'
import { connectFrame } from './frame.js'

// The kit's components and composables are auto-imported by its Vite plugin (vite.config.ts).
// Its vue-plugin is deliberately not installed: it injects inline <style> that `style-src 'self'`
// refuses; the platform attributes it would set on <html> are rendered by the server instead.
const boot = readBoot()
const api = createApi(boot)
if (isCardBoot(boot)) {
  // A lead card's tab: its own chunk, so the card view costs the settings tab nothing. The frame
  // fits its height; no title: the tab is inside Bitrix24's card, whose title is the record's.
  void connectFrame(null)
  void import('./card/CardApp.vue').then(({ default: CardApp }) => createApp(CardApp, { boot, api }).mount('#app'))
} else {
  const frame = connectFrame(boot.strings.page_title)
  createApp(App, { boot, api, frame }).mount('#app')
}
