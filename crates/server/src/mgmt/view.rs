//! Pieces shared by the Management API's response views.

pub use crate::clock::iso;
