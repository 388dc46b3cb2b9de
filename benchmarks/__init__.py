"""The study runner: configuration, the cell loop, executors, recording and summary."""
