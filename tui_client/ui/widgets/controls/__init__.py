"""ui/widgets/controls."""
