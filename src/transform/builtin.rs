//! The table of built-in transforms and predicates.

use super::{PredicatePlugin, TransformPlugin};

pub static TRANSFORMS: &[TransformPlugin] = &[];
pub static PREDICATES: &[PredicatePlugin] = &[];
