import { defineConfig } from 'vitest/config'
import { defaultServerConditions } from 'vite'

/**
 * Tests import `weirjs` as users do; the `weir-source` export condition resolves it to the
 * TypeScript sources (package.json "exports"), so the tests need no build.
 */
const conditions = ['weir-source', ...defaultServerConditions]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['**/*.test.ts', 'property-tests/**/*.prop.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    typecheck: { enabled: false },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
