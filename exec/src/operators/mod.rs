//! The operators of a physical plan, one per file. Each has a `schema`
//! function (types checked, output schema derived) and an `execute` function
//! that wraps its input stream.

pub(crate) mod filter;
pub(crate) mod hash_aggregate;
pub(crate) mod join;
pub(crate) mod limit;
pub(crate) mod project;
pub(crate) mod recursive;
pub(crate) mod scan;
pub(crate) mod set_ops;
pub(crate) mod sort;
pub(crate) mod values;
pub(crate) mod window;
