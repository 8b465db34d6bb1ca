"""The checks on a GPU machine that reaches no package index: the bundle is built here (`./dev bundle`) and
installed there (`./dev gpu`). Standard library only, errors.py aside: the installer runs before anything else of
the project's is installed."""
