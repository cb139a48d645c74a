"""ui/widgets/chrome."""
