mod lab_https;
