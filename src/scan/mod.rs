//! `stsmap scan`: the streaming survey.

pub mod assemble;
pub mod explain;
pub mod output;
pub mod pipeline;
pub mod progress;
