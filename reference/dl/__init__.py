"""Reference solutions of the course dl, one package per homework."""
