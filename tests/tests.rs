mod lab_world;
mod parsers;
