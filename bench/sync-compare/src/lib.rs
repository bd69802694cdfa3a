//! What the figures of this crate share: the tree every client moves, the
//! native client and the result file's shape. Figure d is `src/main.rs`; figure h (inside
//! swamp) is `src/bin/inside_swamp/`.

pub mod native;
pub mod report;
pub mod tree;
