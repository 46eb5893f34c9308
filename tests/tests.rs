mod dns_engine;
mod lab_dns;
