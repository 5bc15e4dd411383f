/** Seeds and the long-run flag for the suite: one implementation (core/test/seeded.ts). */
export * from '@solidar/core/testing/seeded'
