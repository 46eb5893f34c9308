mod dns_engine;
