//! Fault tests against the lab DNS server (added once the lab is merged).
