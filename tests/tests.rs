mod lab_dns;
