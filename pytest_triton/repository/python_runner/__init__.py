"""The generic runner model that the python backend executes: copied into a repository as model.py."""

from pathlib import Path

MODEL_FILE = Path(__file__).with_name("model.py")
