import bitrix24UIPluginVite from '@bitrix24/b24ui-nuxt/vite'
import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * The settings tab on Bitrix24's UI kit (issue 12), built into dist/web and served at
 * /static/web/ (src/plugins/static.ts); the server renders the shell (views/settings.eta)
 * from the manifest. Components are auto-imported by the kit's plugin, so only what a screen
 * uses ships. The kit's vue-plugin is not installed: its colour plugin injects inline <style>
 * that the tab's `style-src 'self'` refuses (main.ts).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/static/web/',
  plugins: [
    vue(),
    bitrix24UIPluginVite({
      router: false,
      // prose/mdc default on and register every prose component globally: not wanted here
      prose: false,
      mdc: false,
      colorMode: false,
      dts: true,
      experimental: { componentDetection: true },
      // The kit's Button means a 2px outline on focus-visible, but its own focus:outline-none
      // cancels it under Tailwind 4: restore the outline style so keyboard focus is visible.
      b24ui: { button: { slots: { base: 'focus-visible:outline-solid' } } },
    }),
  ],
  build: {
    outDir: fileURLToPath(new URL('../../dist/web', import.meta.url)),
    emptyOutDir: true,
    manifest: true,
    target: 'es2022',
    sourcemap: false,
    rollupOptions: { input: fileURLToPath(new URL('./main.ts', import.meta.url)) },
  },
})
