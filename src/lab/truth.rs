//! Ground truth: the row a correct scanner must produce for a domain of the world.
