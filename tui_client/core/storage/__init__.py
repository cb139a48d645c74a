"""What tui-client keeps on disk: the run history, exports, the config file and the ui state (paths.py: where)."""
