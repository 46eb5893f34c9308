//! The raw-UDP DNS engine (being written).
