//! S3-compatible datastore (in progress).
