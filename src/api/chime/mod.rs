pub mod error;
pub mod sigv4;
pub mod streaming;
