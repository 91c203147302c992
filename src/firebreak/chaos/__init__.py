"""The reference world: a simulated production for chaos scenarios and red-team runs."""
