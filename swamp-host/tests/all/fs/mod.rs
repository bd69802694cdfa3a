//! fs-datastore, the real component in the real host on real directories:
//! every WIT function and the host-side lock machinery (`datastore`), and
//! the hostile input corpus (`hostile_corpus`).

mod datastore;
mod hostile_corpus;
