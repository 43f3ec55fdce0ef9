"""Reference solutions of the course mfdnn, one package per homework."""
