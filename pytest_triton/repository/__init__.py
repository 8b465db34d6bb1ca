"""Model repositories: Triton configs built from protobuf, artifacts placed, models loaded."""
