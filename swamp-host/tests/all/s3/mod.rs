//! s3-datastore, the real component in the real host against a real
//! SeaweedFS the tests start (`seaweedfs-fixture`): config, lock protocol,
//! verifier and sync (`datastore`); injected network faults (`faults`);
//! the hostile input corpus (`hostile_corpus`); a bucket shared with other
//! clients (`interop`, `interop_shared`, with boto3); what the conformance
//! suite cannot see (`robustness`). `support` holds what they share (a
//! host, the component, a bucket's config, boto3, the fault-injecting
//! proxy).

mod datastore;
mod faults;
mod hostile_corpus;
mod interop;
mod interop_shared;
mod robustness;
mod support;
