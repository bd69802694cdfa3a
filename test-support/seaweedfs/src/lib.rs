//! SeaweedFS test fixture (in progress).
