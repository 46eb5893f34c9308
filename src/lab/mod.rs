//! The lab: a simulated mail-security world (being written).
