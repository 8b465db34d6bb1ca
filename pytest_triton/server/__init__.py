"""Ways to get a Triton server: launch one here, run one in Docker, or use one that already runs."""
