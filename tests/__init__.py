"""fastnet's test suite (a package, so that its modules import tests.helpers)."""
