mod lab_world;
