mod lab_dns;
mod lab_world;
mod parsers;
