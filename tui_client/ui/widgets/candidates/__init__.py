"""ui/widgets/candidates."""
