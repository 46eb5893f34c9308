mod input;
mod parsers;
