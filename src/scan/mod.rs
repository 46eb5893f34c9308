//! `stsmap scan`: the streaming survey.

pub mod assemble;
pub mod pipeline;
