//! How a photo's file name becomes a SKU and its object keys.

mod key;
mod sku;

pub use key::{KeyTemplate, safe_segment};
pub use sku::SkuPattern;
