"""The model zoo: specs that say how to build a model, feed it and what it should return."""
