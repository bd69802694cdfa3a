// swamp's lock defaults for the TypeScript runtime. Generated from
// types/src/lock.rs (LockOptions::DEFAULT_*) by host-harness/src/package.rs,
// whose test fails when this file differs; edit the Rust, not this.
export const DEFAULT_TTL_MS = 30000;
export const DEFAULT_RETRY_INTERVAL_MS = 1000;
export const DEFAULT_MAX_WAIT_MS = 60000;
