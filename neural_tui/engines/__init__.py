"""Pure, vectorised statistics: numpy and scipy in, plain result objects out. No I/O."""
