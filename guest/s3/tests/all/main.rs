//! s3-datastore's own integration tests, as one test binary: the crate's
//! SigV4 signer, compiled natively, against botocore's (`botocore_sigv4`,
//! which runs `tests/botocore_sign.py`). The component's tests, in the real
//! host against SeaweedFS, are with every other backend's in swamp-host
//! (`swamp-host/tests/all/s3/`), and the conformance suite runs on it in
//! `conformance/tests/all/s3_datastore.rs`.
//!
//! Run it with `cargo test -p s3-datastore --test all`.

mod botocore_sigv4;
