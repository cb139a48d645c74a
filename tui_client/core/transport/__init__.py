"""Getting a run's stream to the UI: the stream child process (protocol parsing off the UI's process)."""
