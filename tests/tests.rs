mod input;
mod lab_world;
mod parsers;
