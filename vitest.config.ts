import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['**/*.test.ts', 'property-tests/**/*.prop.ts'],
    exclude: ['node_modules/**'],
    typecheck: { enabled: false },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
