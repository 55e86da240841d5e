"""Load and soak drivers on the chaos suite's scaled deployment (tests/chaos/cluster.py)."""
