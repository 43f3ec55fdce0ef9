"""Stage 5, report: the terminal report and the files handed to other tools. Readers only."""
