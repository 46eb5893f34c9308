mod dns_engine;
mod input;
mod lab_dns;
mod lab_https;
mod lab_world;
mod nightly;
mod parsers;
mod scan_lab;
