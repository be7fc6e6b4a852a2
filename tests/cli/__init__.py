# A package, so that this directory's conftest is "cli.conftest" and does not
# shadow tests/py/conftest.py when the suites run in one pytest session.
