import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real SQLite files, real processes, a real browser: give them room, and never retry away a failure.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A page refreshes on its own timers and jobs run in other processes: on a busy 2-core machine
    // a second is too short a wait for them, and a poll that never gets there still fails.
    expect: { poll: { timeout: 10_000 } },
  },
});
