"""The checks on a GPU machine that reaches no package index: the bundle is built here (`./dev bundle`) and
installed there (`./dev gpu`). The standard library only, with errors.py and server/bundled.py (the wheel's
layout), which import nothing else: the installer runs before anything else of the project's is installed."""
