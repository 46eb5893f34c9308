//! `stsmap scan`: the streaming survey.

pub mod pipeline;
