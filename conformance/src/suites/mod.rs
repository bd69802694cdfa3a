//! The checks, one module per suite, in run order.

mod config;
mod export;
mod hostile;
mod lock;
mod shared;
mod sync;
mod verifier;

use crate::framework::Check;

pub(crate) fn all() -> Vec<Check> {
    let mut checks = export::checks();
    checks.extend(config::checks());
    checks.extend(lock::checks());
    checks.extend(verifier::checks());
    checks.extend(sync::checks());
    checks.extend(hostile::checks());
    checks.extend(shared::checks());
    checks
}
